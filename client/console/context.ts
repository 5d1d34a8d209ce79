/** What every console page and action is given: the gateway's dependencies, the session and links. */
import type { Client } from '@temporalio/client';
import type { Principal } from '../../domain/rbac';
import type { GatewayDeps } from '../gateway/deps';
import { temporalUiLinks, type UiLinks } from '../services/temporal-ui';
import type { ConsoleSession } from './sessions';

export interface ConsoleContext {
  deps: GatewayDeps;
  session: ConsoleSession;
  principal: Principal;
  url: URL;
  ui: UiLinks;
  now: Date;
}

/** Temporal Web UI links for the client's connection (none when its address is unknown). */
export function uiLinksOf(client: Client): UiLinks {
  const connection = client.connection as { options?: { address?: string } };
  const address = connection.options?.address ?? '';
  return temporalUiLinks({ address, namespace: client.options.namespace });
}
