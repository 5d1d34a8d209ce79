/** A minimal multipart/form-data parser for file uploads (the whole body is already in memory). */

export interface FormPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

export class MultipartError extends Error {}

export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data/i.test(contentType)) return undefined;
  const match = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  return (match?.[1] ?? match?.[2])?.trim();
}

function dispositionParam(header: string, param: string): string | undefined {
  const match = new RegExp(`;\\s*${param}="((?:[^"\\\\]|\\\\.)*)"`, 'i').exec(header);
  if (match) return match[1]?.replace(/\\(.)/g, '$1');
  const bare = new RegExp(`;\\s*${param}=([^;\\s]+)`, 'i').exec(header);
  return bare?.[1];
}

/** A part's name, file name and content type, from its header lines (`\r\n`-separated). */
export function describePart(headerText: string): Omit<FormPart, 'data' | 'name'> & { name?: string } {
  const described: Omit<FormPart, 'data' | 'name'> & { name?: string } = {};
  for (const header of headerText.split('\r\n')) {
    const colon = header.indexOf(':');
    const key = header.slice(0, colon).trim().toLowerCase();
    const value = header.slice(colon + 1).trim();
    if (key === 'content-disposition') {
      const name = dispositionParam(value, 'name');
      const filename = dispositionParam(value, 'filename');
      if (name !== undefined) described.name = name;
      if (filename !== undefined) described.filename = filename;
    } else if (key === 'content-type') described.contentType = value;
  }
  return described;
}

export function parseMultipart(body: Buffer, boundary: string): FormPart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const separator = Buffer.from(`\r\n--${boundary}`);
  const parts: FormPart[] = [];
  let position = body.indexOf(delimiter);
  if (position < 0) throw new MultipartError('multipart body has no boundary');
  position += delimiter.length;
  for (;;) {
    if (body[position] === 0x2d && body[position + 1] === 0x2d) break; // closing "--"
    if (body[position] === 0x0d && body[position + 1] === 0x0a) position += 2;
    const headerEnd = body.indexOf('\r\n\r\n', position);
    if (headerEnd < 0) throw new MultipartError('multipart part has no header end');
    const headers = body.subarray(position, headerEnd).toString('utf8');
    const dataStart = headerEnd + 4;
    const next = body.indexOf(separator, dataStart);
    if (next < 0) throw new MultipartError('multipart body is not terminated');
    const { name, filename, contentType } = describePart(headers);
    if (name === undefined) throw new MultipartError('multipart part has no name');
    const part: FormPart = { name, data: body.subarray(dataStart, next) };
    if (filename !== undefined) part.filename = filename;
    if (contentType !== undefined) part.contentType = contentType;
    parts.push(part);
    position = next + separator.length;
  }
  return parts;
}
