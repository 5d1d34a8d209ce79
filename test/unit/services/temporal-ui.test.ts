import { describe, expect, it } from 'vitest';
import { temporalUiBase, temporalUiLinks, uiLine } from '../../../client/services/temporal-ui';

describe('Temporal Web UI links', () => {
  it('a dev server: the same host, the frontend port + 1000, or GOVERNOR_TEMPORAL_UI_PORT', () => {
    expect(temporalUiBase({ address: '127.0.0.1:7233' }, {})).toBe('http://127.0.0.1:8233');
    expect(temporalUiBase({ address: 'localhost:17233' }, {})).toBe('http://localhost:18233');
    expect(temporalUiBase({ address: 'temporal.internal' }, {})).toBe('http://temporal.internal:8233');
    expect(temporalUiBase({ address: '0.0.0.0:7233' }, {})).toBe('http://127.0.0.1:8233');
    expect(temporalUiBase({ address: '[::1]:7233' }, {})).toBe('http://[::1]:8233');
    expect(temporalUiBase({ address: '127.0.0.1:7233' }, { GOVERNOR_TEMPORAL_UI_PORT: '9000' })).toBe(
      'http://127.0.0.1:9000',
    );
    expect(temporalUiBase({ address: '127.0.0.1:7233' }, { GOVERNOR_TEMPORAL_UI_PORT: 'x' })).toBeNull();
  });

  it('Temporal Cloud and an explicit URL; empty or off means no links', () => {
    expect(temporalUiBase({ address: 'acme.a1b2c.tmprl.cloud:7233' }, {})).toBe('https://cloud.temporal.io');
    expect(
      temporalUiBase(
        { address: 'us-east-1.aws.api.temporal.io:7233' },
        {
          GOVERNOR_TEMPORAL_UI_URL: 'https://ui.example.com/',
        },
      ),
    ).toBe('https://ui.example.com');
    expect(temporalUiBase({ address: '127.0.0.1:7233' }, { GOVERNOR_TEMPORAL_UI_URL: 'off' })).toBeNull();
    expect(temporalUiBase({ address: '127.0.0.1:7233' }, { GOVERNOR_TEMPORAL_UI_URL: ' ' })).toBeNull();
  });

  it('links to a workflow, a run, a schedule and the list, with ids escaped', () => {
    const links = temporalUiLinks({ address: '127.0.0.1:7233', namespace: 'team a' }, {});
    expect(links.workflows()).toBe('http://127.0.0.1:8233/namespaces/team%20a/workflows');
    expect(links.workflow('key-rotation:alpha-prod-chat')).toBe(
      'http://127.0.0.1:8233/namespaces/team%20a/workflows/key-rotation%3Aalpha-prod-chat',
    );
    expect(links.workflow('batch-batch_01', 'run/1')).toBe(
      'http://127.0.0.1:8233/namespaces/team%20a/workflows/batch-batch_01/run%2F1/history',
    );
    expect(links.schedule('weekly-report')).toBe(
      'http://127.0.0.1:8233/namespaces/team%20a/schedules/weekly-report',
    );
    const none = temporalUiLinks(
      { address: '127.0.0.1:7233', namespace: 'default' },
      { GOVERNOR_TEMPORAL_UI_URL: 'off' },
    );
    expect([none.workflows(), none.workflow('x'), none.schedule('y')]).toEqual([null, null, null]);
    expect(uiLine(null)).toEqual([]);
    expect(uiLine('http://h:1/x')).toEqual(['Temporal Web UI: http://h:1/x']);
  });
});
