/** `GET /openai/v1/models` and `GET /openai/v1/models/{id}`: model objects like Groq's. */
import type { ServerResponse } from 'node:http';
import type { ModelSpec } from './config';
import { modelNotFound } from './errors';
import { sendJson, type Headers } from './http';
import type { EmulatorState } from './state';

export interface ModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  active: boolean;
  context_window: number;
  public_apps: null;
  max_completion_tokens?: number;
}

export function modelObject(model: ModelSpec): ModelObject {
  const object: ModelObject = {
    id: model.id,
    object: 'model',
    created: model.created,
    owned_by: model.ownedBy,
    active: model.active,
    context_window: model.contextWindow,
    public_apps: null,
  };
  if (model.maxCompletionTokens !== undefined) object.max_completion_tokens = model.maxCompletionTokens;
  return object;
}

export function listModels(state: EmulatorState, res: ServerResponse, headers: Headers): void {
  sendJson(res, 200, { object: 'list', data: [...state.models.values()].map(modelObject) }, headers);
}

export function retrieveModel(state: EmulatorState, res: ServerResponse, id: string, headers: Headers): void {
  const model = state.models.get(id);
  if (!model) throw modelNotFound(id);
  sendJson(res, 200, modelObject(model), headers);
}
