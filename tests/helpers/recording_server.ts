/** A local HTTP server that records every call; `respond` decides the answer. */
export function recordingServer(
  respond: (req: Request, n: number) => Response | Promise<Response> = () => new Response("pong"),
) {
  const calls: Array<{ method: string; path: string; headers: Headers; body: string }> = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    calls.push({ method: req.method, path: new URL(req.url).pathname, headers: req.headers, body: await req.text() });
    return respond(req, calls.length);
  });
  return {
    calls,
    url: `http://127.0.0.1:${server.addr.port}`,
    close: () => server.shutdown(),
  };
}
