/** The console's static files (client/console/assets/), read once and served from memory. */
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  'console.css': 'text/css; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
};
const cache = new Map<string, Buffer>();

export function asset(response: ServerResponse, path: string): void {
  const name = path.slice('/console/assets/'.length);
  const type = TYPES[name];
  if (!type) {
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('not found');
    return;
  }
  let body = cache.get(name);
  if (!body) {
    body = readFileSync(fileURLToPath(new URL(`./assets/${name}`, import.meta.url)));
    cache.set(name, body);
  }
  response.writeHead(200, {
    'content-type': type,
    'content-length': body.length,
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-cache',
  });
  response.end(body);
}
