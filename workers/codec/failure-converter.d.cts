import type { FailureConverter } from '@temporalio/common';

export declare const failureConverter: FailureConverter;
