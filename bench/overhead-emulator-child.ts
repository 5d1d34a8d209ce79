/**
 * The Groq emulator of `bench:overhead`, in a process of its own (forked by bench/overhead-harness.ts):
 * the first IPC message configures it, the reply gives its URL and key secrets; it stops when the channel
 * closes.
 */
import { startEmulator } from '../emulator';
import type { EmulatorInit, EmulatorReady } from './overhead-harness-messages';

process.once('message', (message: EmulatorInit) => {
  void startEmulator({
    port: 0,
    config: message.config,
    keys: message.keyNames.map((name) => ({ name })),
  }).then(
    (emulator) => {
      emulator.setLatency({ latencyMs: message.latencyMs, perTokenMs: 0 });
      emulator.enforceRateLimits(false);
      process.once('disconnect', () => void emulator.close().finally(() => process.exit(0)));
      const ready: EmulatorReady = { url: emulator.url, secrets: { ...emulator.addedKeys } };
      process.send?.(ready);
    },
    (error: unknown) => {
      process.stderr.write(`bench emulator: ${String(error)}\n`);
      process.exit(1);
    },
  );
});
