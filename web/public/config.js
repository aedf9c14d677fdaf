// Runtime configuration of a deployed trace viewer. Replace this file next to index.html after
// `npm run build:web`; the page reads window.traceStreamConfig when it loads. Under `npm start`
// the local viewer server supplies the URL and dev tokens itself, so leave it empty there.
//
// window.traceStreamConfig = {
//   // The WebSocket stage URL (the stack's WebSocketUrl output).
//   url: "wss://abc123.execute-api.eu-west-1.amazonaws.com/prod",
//   // Called before every connect: return a JWT whose `traces` claim grants traceId.
//   getToken: async (traceId) => {
//     const response = await fetch(`/auth/trace-token?traceId=${encodeURIComponent(traceId)}`);
//     return (await response.json()).token;
//   },
//   // Or, instead of getToken: GET {tokenUrl}?traceId=T answering {"token": "..."}.
//   // tokenUrl: "https://auth.example.com/trace-token",
// };
