// Whether a local TCP port is taken, asked before `npm start` starts anything: a second
// `npm start` should say so in one line, not fail half-way with a stack trace.
import { connect, createServer } from "node:net";

/** Does anything accept connections on host:port? */
function accepts(port, host) {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.setTimeout(1000);
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("timeout", () => (socket.destroy(), resolve(false)));
    socket.once("error", () => resolve(false));
  });
}

/** Can this process bind the port on every interface (so no one else holds it on any)? */
function bindable(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** True when the port is in use: someone accepts on loopback (IPv4 or IPv6), or it cannot be bound. */
export async function portInUse(port) {
  const [v4, v6] = await Promise.all([accepts(port, "127.0.0.1"), accepts(port, "::1")]);
  return v4 || v6 || !(await bindable(port));
}
