/** The activities of speech to text, text to speech and the Responses API, built from their dependencies. */
import { deleteUpload, getUpload } from '../../ledger/modalities';
import { reserveUnits } from './budget';
import { abandonModality, callModality } from './call';
import type { ModalityDeps } from './deps';
import { checkModalityPolicy } from './policy';
import type { ModalityCallInput, ModalityPolicyInput, UnitsReserveInput } from './types';
import type { AttemptRef } from '../completion/types';

export { PLAIN_SEALER, type ModalityDeps, type Sealer } from './deps';

export function createModalityActivities(deps: ModalityDeps) {
  return {
    checkModalityPolicy: (input: ModalityPolicyInput) => checkModalityPolicy(deps, input),
    reserveUnits: (input: UnitsReserveInput) => reserveUnits(deps, input),
    callModality: (input: ModalityCallInput) => callModality(deps, input),
    abandonModality: (input: AttemptRef & { endpoint: string }) => abandonModality(deps, input),
    /** the upload is no longer needed (the request is over) */
    discardBlob: async (input: { blobId: string }) => {
      if ((await getUpload(deps.ledger.sql, input.blobId)) !== null) {
        await deleteUpload(deps.ledger.sql, input.blobId);
      }
    },
  };
}

export type ModalityActivities = ReturnType<typeof createModalityActivities>;
