// The twin instance's one route out: `node twin/forward.mjs LISTEN CONNECT` relays every TCP
// connection from LISTEN to CONNECT, each either host:port or a unix socket path. The twin runs
// it twice: inside the instance's network namespace (127.0.0.1:<moto port> to a unix socket),
// and outside it (that socket to moto), so the instance reaches S3 and nothing else.
// Plain JavaScript: it runs on any Node, with no loader. Prints "ready" once listening.
import net from 'node:net';

const address = (a) => {
  if (a.includes('/')) return { path: a };
  const colon = a.lastIndexOf(':');
  return { host: a.slice(0, colon), port: Number(a.slice(colon + 1)) };
};
const [listen, connect] = process.argv.slice(2).map(address);

const server = net.createServer((inbound) => {
  const outbound = net.connect(connect);
  const close = () => {
    inbound.destroy();
    outbound.destroy();
  };
  inbound.on('error', close).on('close', close);
  outbound.on('error', close).on('close', close);
  inbound.pipe(outbound).pipe(inbound);
});
server.listen(listen, () => process.stdout.write('ready\n'));
