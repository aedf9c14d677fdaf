import type { Command } from "./command.js";
import { parseCommandArgs } from "./command.js";
import { CliError, ExitCode } from "./errors.js";

const NAME = "dev";

interface DevServerModule {
  runDevServer(options?: { signal?: AbortSignal }): Promise<unknown>;
}

export const devCommand: Command = {
  name: NAME,
  help: `Usage: trace-stream dev

Runs the whole system on this machine, the same as \`npm start\`: the local stack (WebSocket API and
@connections on 3001, EventBridge on 4010, DynamoDB on 8000) and the viewer on 3000. Stop with Ctrl-C.

Options:
  -h, --help             show this help`,

  async run(argv, context) {
    parseCommandArgs(NAME, argv, {});
    // local/dev-server.ts is written alongside; resolved at run time until it lands.
    const specifier = "../../local/dev-server.js";
    let module: DevServerModule;
    try {
      module = (await import(specifier)) as DevServerModule;
    } catch (error) {
      throw new CliError("the dev server (local/dev-server.ts) is not available", ExitCode.failure, {
        cause: error,
      });
    }
    await module.runDevServer({ signal: context.signal });
    return context.signal.aborted ? ExitCode.interrupted : ExitCode.ok;
  },
};
