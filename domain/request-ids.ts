/**
 * Request ids the gateway hands out (the `x-request-id` of every response) and the workflow ids
 * derived from them, so an operator can go from a caller's report straight to the workflow.
 */
export const REQUEST_ID_PATTERN = /^req_[0-9a-z]{26}$/;

export function completionWorkflowId(requestId: string): string {
  return `completion-${requestId}`;
}

export function requestIdOfWorkflow(workflowId: string): string | undefined {
  const match = /^completion-(req_[0-9a-z]{26})$/.exec(workflowId);
  return match?.[1];
}
