/**
 * `floorEcho`: a workflow that returns its input and does nothing else. `bench:overhead` starts it the
 * way the gateway starts a governed completion (same client, eager start, same worker), so the cost of
 * one bare Temporal workflow (the floor) is measured beside the governed path in the same run.
 */
export async function floorEcho<T>(input: T): Promise<T> {
  return input;
}
