/** Who runs a CLI command, as audit entries name them. */
import { userInfo } from 'node:os';

/** `cli:<os user>`: who the audit log names for changes made here. */
export function operatorName(): string {
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {
    name = undefined;
  }
  return `cli:${name || process.env.USER || process.env.USERNAME || 'unknown'}`;
}
