/** Task queue names shared by workers (which poll them) and clients (which start work on them). */
export const TASK_QUEUES = {
  /** workflows and their ordinary activities */
  main: 'groq-governor',
} as const;
