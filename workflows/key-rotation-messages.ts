/**
 * Messages of the `keyRotation` workflow: its input and result, the status query, and the admin
 * actions (updates, so the caller learns at once whether the action was accepted). Actors are names
 * for the audit log (`cli:<user>`, `key:<gateway key id>`), never secrets.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { VersionTraffic } from '../domain/key-versions';

export interface KeyRotationInput {
  keyName: string;
  /** who started it, for the audit log */
  actor: string;
  /** the version to rotate to; default: the newest `next` version */
  newVersion?: number;
  /** the idle window the old version must prove (default 24 hours) */
  monitorWindowMs?: number;
  /** how often the monitor reads the traffic per version (default 5 minutes) */
  checkIntervalMs?: number;
  /** first send this whole percent of new requests to the new version, for `canaryMs` (default none) */
  canaryPercent?: number;
  canaryMs?: number;
  /** wait for an `approve` after validation before any request moves */
  requireApproval?: boolean;
  /** after retiring, wait for `confirm-deleted` (the admin deleted the old key in the Groq console) */
  awaitDeletionConfirmation?: boolean;
  /** roll back when the new version's error rate (401, 403, 5xx) is above this (0..1, default 0.05) */
  errorRateThreshold?: number;
  /** ... once it has served at least this many requests (default 20) */
  minRequestsForErrorRate?: number;
}

export type RotationPhase =
  | 'preparing'
  | 'validating'
  | 'awaiting-approval'
  | 'canary'
  | 'monitoring'
  | 'retiring'
  | 'awaiting-deletion'
  | 'completed'
  | 'rolled-back'
  | 'aborted'
  | 'failed';

export interface RotationStatus {
  keyName: string;
  phase: RotationPhase;
  oldVersion: number | null;
  newVersion: number | null;
  /** requests per version since the rotation started */
  traffic: VersionTraffic[];
  /** ms of the idle window still to prove (null outside the monitor) */
  timeLeftMs: number | null;
  /** workflow time the old version was last seen serving (the window counts from here) */
  idleSince: number | null;
  windowExtensions: number;
  reason: string | null;
}

export interface KeyRotationResult extends RotationStatus {
  outcome: 'completed' | 'rolled-back' | 'aborted' | 'failed';
  startedAt: number;
  promotedAt: number | null;
  monitorEndedAt: number | null;
  finishedAt: number;
}

export interface AdminAction {
  actor: string;
  reason?: string;
}

export const rotationStatusQuery = defineQuery<RotationStatus>('status');
export const approveUpdate = defineUpdate<RotationStatus, [AdminAction]>('approve');
export const abortUpdate = defineUpdate<RotationStatus, [AdminAction]>('abort');
export const skipMonitorUpdate = defineUpdate<RotationStatus, [AdminAction]>('skip-monitor');
export const confirmDeletedSignal = defineSignal<[AdminAction]>('confirm-deleted');

export const rotationWorkflowId = (keyName: string): string => `key-rotation:${keyName}`;
