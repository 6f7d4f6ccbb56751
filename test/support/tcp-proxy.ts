import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  server: Server;
  /** Stops listening and cuts every connection through it. */
  close(): Promise<void>;
}

/**
 * A TCP proxy on 127.0.0.1:`port` to `target`: until it listens, whatever was given that port
 * finds it closed (a dependency that is down), and closing it cuts every connection.
 */
export function startTcpProxy(port: number, target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection(target, () => client.pipe(upstream).pipe(client));
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', close);
    }
  });
  return new Promise((resolve) =>
    server.listen(port, '127.0.0.1', () =>
      resolve({
        server,
        close: () =>
          new Promise<void>((closed) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => closed());
          }),
      }),
    ),
  );
}
