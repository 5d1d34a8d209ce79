/**
 * An on/off environment variable: 1 or true turns it on, 0, false or unset leaves it off (any case,
 * spaces around ignored); anything else is refused with a message naming the variable and both meanings.
 */
export function envSwitch(env: NodeJS.ProcessEnv, name: string, on: string, off: string): boolean {
  const text = (env[name] ?? '').trim().toLowerCase();
  if (text === '' || text === '0' || text === 'false') return false;
  if (text === '1' || text === 'true') return true;
  throw new RangeError(
    `${name} must be 1 or true (${on}) or 0, false or unset (${off}), got ${JSON.stringify(env[name])}`,
  );
}
