/** A free TCP port on 127.0.0.1 (and, when asked, the one after it too, for a server and its UI). */
import { createServer } from 'node:net';

async function probe(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const bound = (server.address() as { port: number }).port;
      server.close(() => resolve(bound));
    });
  });
}

export async function freePort(): Promise<number> {
  const port = await probe(0);
  if (port === undefined) throw new Error('no free port');
  return port;
}

/** A port p whose p+1000 is free as well (the dev server's Web UI sits there by default). */
export async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 30000);
    if ((await probe(port)) && (await probe(port + 1000))) return port;
  }
  throw new Error('no free port pair');
}
