/**
 * WAV (RIFF/PCM) headers: the duration of an upload read from its header, and small valid files of a
 * given length (the emulator's speech answers, tests). Pure byte arithmetic, no I/O.
 */

function ascii(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at] ?? 0, bytes[at + 1] ?? 0, bytes[at + 2] ?? 0, bytes[at + 3] ?? 0);
}

function u32(bytes: Uint8Array, at: number): number {
  return (
    ((bytes[at] ?? 0) | ((bytes[at + 1] ?? 0) << 8) | ((bytes[at + 2] ?? 0) << 16)) +
    (bytes[at + 3] ?? 0) * 0x1000000
  );
}

/**
 * The duration in seconds (fractional) of a RIFF/WAVE file, from its `fmt ` byte rate and its `data`
 * size; null when the bytes are not a WAV file this can read. A `data` size larger than the file (a
 * streamed header, 0xFFFFFFFF) counts the bytes that are there.
 */
export function wavDurationSeconds(bytes: Uint8Array): number | null {
  return wavSeconds(bytes, false);
}

/**
 * An upper bound of the audio in a WAV upload, for a worst-case reservation: every byte from the `data`
 * chunk to the end of the file counts as audio, so a header that states too small a `data` size (with
 * more bytes after it) cannot make the bound smaller than what a decoder may find.
 */
export function wavSecondsBound(bytes: Uint8Array): number | null {
  return wavSeconds(bytes, true);
}

function wavSeconds(bytes: Uint8Array, toEnd: boolean): number | null {
  if (bytes.length < 12 || ascii(bytes, 0) !== 'RIFF' || ascii(bytes, 8) !== 'WAVE') return null;
  let byteRate: number | null = null;
  let at = 12;
  while (at + 8 <= bytes.length) {
    const id = ascii(bytes, at);
    const size = u32(bytes, at + 4);
    const body = at + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > bytes.length) return null;
      byteRate = u32(bytes, body + 8);
    } else if (id === 'data') {
      if (byteRate === null || byteRate === 0) return null;
      const dataBytes = toEnd ? bytes.length - body : Math.min(size, bytes.length - body);
      return dataBytes / byteRate;
    }
    at = body + size + (size % 2);
  }
  return null;
}

/** A PCM WAV file: a 44-byte header and `seconds` of silence (16-bit mono at `sampleRate`). */
export function silentWav(seconds: number, sampleRate = 8000): Buffer {
  const dataBytes = Math.round(seconds * sampleRate) * 2;
  const file = Buffer.alloc(44 + dataBytes);
  file.write('RIFF', 0, 'ascii');
  file.writeUInt32LE(36 + dataBytes, 4);
  file.write('WAVE', 8, 'ascii');
  file.write('fmt ', 12, 'ascii');
  file.writeUInt32LE(16, 16);
  file.writeUInt16LE(1, 20); // PCM
  file.writeUInt16LE(1, 22); // mono
  file.writeUInt32LE(sampleRate, 24);
  file.writeUInt32LE(sampleRate * 2, 28); // byte rate
  file.writeUInt16LE(2, 32); // block align
  file.writeUInt16LE(16, 34); // bits per sample
  file.write('data', 36, 'ascii');
  file.writeUInt32LE(dataBytes, 40);
  return file;
}
