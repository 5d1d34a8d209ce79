/** The configuration the completion tests run on: two teams, two priced models. */
import { parseConfig, type GovernorConfig } from '../../domain/config';

export const TEST_CONFIG = `
org:
  name: Test Org
  monthlyCapUsd: '100'
  timezone: UTC
groq:
  limits:
    llama-3.1-8b-instant: { rpm: 100000, rpd: 10000000, tpm: 100000000, tpd: 1000000000 }
    llama-3.3-70b-versatile: { rpm: 100000, rpd: 10000000, tpm: 100000000, tpd: 1000000000 }
pricing:
  models:
    llama-3.1-8b-instant: { input: '0.05', output: '0.08' }
    llama-3.3-70b-versatile: { input: '0.59', output: '0.79' }
upstreamKeys:
  - name: alpha-test-gateway
  - name: beta-test-gateway
teams:
  alpha:
    allowedModels: [llama-3.1-8b-instant]
    maxTokensPerRequest: 256
    monthlyBudgetUsd: '10'
    rpm: 100000
    tpm: 100000000
    concurrency: 500
    upstreamKey: alpha-test-gateway
  beta:
    allowedModels: [llama-3.3-70b-versatile, llama-3.1-8b-instant]
    maxTokensPerRequest: 1024
    monthlyBudgetUsd: '0.0005'
    rpm: 100000
    tpm: 100000000
    concurrency: 500
    upstreamKey: beta-test-gateway
`;

export function testConfig(text = TEST_CONFIG): GovernorConfig {
  const parsed = parseConfig(text, 'test config');
  if (!parsed.ok) throw new Error(parsed.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return parsed.config;
}
