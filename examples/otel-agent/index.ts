/**
 * A tiny tool-using agent with a fake model, instrumented with OpenTelemetry (GenAI semantic
 * conventions) and streamed live to trace-stream by one span processor.
 *
 *   npm start                                 # the local stack, in another terminal
 *   npx tsx examples/otel-agent/index.ts      # prints the viewer URL, then runs the agent
 *
 * TRACE_STREAM_EVENTBRIDGE_ENDPOINT (default http://127.0.0.1:4010), TRACE_STREAM_VIEWER_URL
 * (default http://127.0.0.1:3000) and STEP_DELAY_MS (default 400, to watch it run) configure it.
 */
import { pathToFileURL } from "node:url";
import { context, type Span, SpanStatusCode, type Tracer, trace } from "@opentelemetry/api";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { TraceStreamSpanProcessor } from "../../client/otel.js";

type ModelTurn =
  | { readonly kind: "tool"; readonly tool: string; readonly args: Record<string, string> }
  | { readonly kind: "answer"; readonly text: string };

/** A scripted stand-in for a chat model: asks for two tools, then answers. */
function fakeModel(turn: number): { reply: ModelTurn; inputTokens: number; outputTokens: number } {
  const script: ModelTurn[] = [
    { kind: "tool", tool: "lookup_order", args: { order_id: "4821" } },
    { kind: "tool", tool: "refund_policy", args: { region: "eu" } },
    { kind: "answer", text: "Order 4821 qualifies for a refund within 30 days." },
  ];
  const reply = script[Math.min(turn, script.length - 1)] as ModelTurn;
  return { reply, inputTokens: 400 + turn * 250, outputTokens: reply.kind === "answer" ? 60 : 25 };
}

const TOOLS: Readonly<Record<string, (args: Record<string, string>) => string>> = {
  lookup_order: (args) => `order ${args.order_id}: delivered 12 days ago`,
  refund_policy: (args) => `${args.region}: refunds within 30 days of delivery`,
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs a child span of `parent` to completion, marking it failed when `work` throws. */
async function inSpan<T>(
  tracer: Tracer,
  parent: Span,
  name: string,
  attributes: Record<string, string | number>,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const span = tracer.startSpan(name, { attributes }, trace.setSpan(context.active(), parent));
  try {
    return await work(span);
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    throw error;
  } finally {
    span.end();
  }
}

export interface AgentRunOptions {
  readonly endpoint: string;
  readonly stepDelayMs: number;
  /** Told the trace id as soon as the root span starts (before anything else runs). */
  readonly onTraceId?: (traceId: string) => void;
}

/** The agent loop: model → tool → model → ... → answer, every step a span. Returns the answer. */
export async function runAgent(options: AgentRunOptions): Promise<string> {
  const processor = new TraceStreamSpanProcessor({ endpoint: options.endpoint });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer("otel-agent-example");
  const root = tracer.startSpan("invoke_agent support", {
    attributes: {
      "gen_ai.operation.name": "invoke_agent",
      "gen_ai.agent.name": "support",
      "gen_ai.agent.description": "Answer a refund question",
    },
  });
  options.onTraceId?.(root.spanContext().traceId);
  try {
    for (let turn = 0; turn < 8; turn++) {
      const reply = await inSpan(
        tracer,
        root,
        "chat fake-model",
        {
          "gen_ai.operation.name": "chat",
          "gen_ai.provider.name": "fake",
          "gen_ai.request.model": "fake-model",
        },
        async (span) => {
          await sleep(options.stepDelayMs);
          const result = fakeModel(turn);
          span.setAttributes({
            "gen_ai.response.model": "fake-model-1",
            "gen_ai.usage.input_tokens": result.inputTokens,
            "gen_ai.usage.output_tokens": result.outputTokens,
          });
          span.setAttribute("gen_ai.response.finish_reasons", [
            result.reply.kind === "tool" ? "tool_calls" : "stop",
          ]);
          return result.reply;
        },
      );
      if (reply.kind === "answer") {
        root.end();
        return reply.text;
      }
      await inSpan(
        tracer,
        root,
        `execute_tool ${reply.tool}`,
        {
          "gen_ai.operation.name": "execute_tool",
          "gen_ai.tool.name": reply.tool,
          "gen_ai.tool.call.id": `call-${turn}`,
        },
        async () => {
          await sleep(options.stepDelayMs);
          const tool = TOOLS[reply.tool];
          if (!tool) throw new Error(`no tool named ${reply.tool}`);
          return tool(reply.args);
        },
      );
    }
    throw new Error("the model never answered");
  } catch (error) {
    root.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    root.end();
    throw error;
  } finally {
    await provider.shutdown(); // waits until every event is delivered
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const endpoint = process.env.TRACE_STREAM_EVENTBRIDGE_ENDPOINT ?? "http://127.0.0.1:4010";
  const viewer = process.env.TRACE_STREAM_VIEWER_URL ?? "http://127.0.0.1:3000";
  const stepDelayMs = Number(process.env.STEP_DELAY_MS ?? 400);
  const answer = await runAgent({
    endpoint,
    stepDelayMs: Number.isFinite(stepDelayMs) && stepDelayMs >= 0 ? stepDelayMs : 400,
    onTraceId: (traceId) => {
      console.log(`trace ${traceId}`);
      console.log(`watch: ${viewer}/?traceId=${traceId}`);
    },
  });
  console.log(`answer: ${answer}`);
}
