import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { apiPropsFromContext, TraceStreamStack } from "../lib/trace-stream-stack.js";

/**
 * CDK app (`cdk.json` runs it). Context: `stackName` (default "TraceStream") plus the keys of
 * `apiPropsFromContext`. The stack is environment-agnostic, so synthesis needs no credentials and
 * makes no lookups.
 */
const app = new App();
const stackName = (app.node.tryGetContext("stackName") as string | undefined) ?? "TraceStream";
new TraceStreamStack(app, stackName, { api: apiPropsFromContext(app.node) });
// Every deliberate finding is suppressed with its reason next to the resource; anything new fails synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
