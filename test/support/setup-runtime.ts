// Runs in every workflow/integration test process before its files: Temporal's Runtime with quiet logs.
import { installRuntime } from '../../workers/runtime';

installRuntime('ERROR');
