/**
 * The console's HTTP helpers: cookies, bounded form bodies, and HTML answers with a strict Content
 * Security Policy (nothing may load from anywhere but this host; scripts only from /console/assets/).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from '../gateway/http';

export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; frame-src 'self'; frame-ancestors 'self'; base-uri 'none'";
/** the weekly report is one self-contained page with inline CSS and SVG, and no script */
export const REPORT_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'";

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

export function cookies(request: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

/** An urlencoded form, at most `limit` bytes; undefined when it is not one. */
export async function readForm(
  request: IncomingMessage,
  limit: number,
): Promise<Record<string, string> | undefined> {
  const type = String(request.headers['content-type'] ?? '');
  if (!type.startsWith('application/x-www-form-urlencoded')) return undefined;
  const params = new URLSearchParams((await readBody(request, limit)).toString('utf8'));
  const out: Record<string, string> = {};
  for (const [name, value] of params) out[name] = value;
  return out;
}

export function sendHtml(
  response: ServerResponse,
  status: number,
  html: string,
  headers: Record<string, string> = {},
  csp = PAGE_CSP,
): void {
  if (response.headersSent) return;
  response.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'content-security-policy': csp,
    ...SECURITY_HEADERS,
    ...headers,
  });
  response.end(html);
}

export function sendConsoleJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_key, value: unknown) =>
    typeof value === 'bigint' ? value.toString() : value,
  );
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...SECURITY_HEADERS,
  });
  response.end(text);
}

export function redirect(
  response: ServerResponse,
  location: string,
  headers: Record<string, string> = {},
): void {
  response.writeHead(303, { location, ...SECURITY_HEADERS, ...headers });
  response.end();
}

/**
 * A POST from a console page: browsers send `Origin` on every POST; one naming another host is refused
 * (a second line behind the SameSite=Strict cookie and the CSRF token).
 */
export function sameOrigin(request: IncomingMessage): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}
