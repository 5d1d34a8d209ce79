/**
 * The embedded default configuration lets the demo team (chatbot, the first-run key's team) try speech
 * to text on a Whisper model, text to speech and the Responses API through the gateway.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import Groq, { toFile } from 'groq-sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDefaultConfig } from '../../../domain/config/load';
import { silentWav } from '../../../domain/wav';
import { startCompletionStack, type CompletionStack } from '../../support/completion-stack';
import { devServerEnv } from '../../support/temporal';

describe('the default configuration', () => {
  let env: TestWorkflowEnvironment;
  let stack: CompletionStack;

  beforeAll(async () => {
    env = await devServerEnv();
    const { config } = await loadDefaultConfig();
    stack = await startCompletionStack(env, { gateway: true, config });
  });
  afterAll(async () => {
    await stack?.close();
    await env?.teardown();
  });

  it('lets the first team transcribe with Whisper, speak, and use the Responses API', async () => {
    const team = [...stack.config.teams.keys()][0]!;
    expect(team).toBe('chatbot');
    const key = (await stack.issue(team)).key;
    const groq = new Groq({ baseURL: stack.gateway!.url, apiKey: key, maxRetries: 0 });
    const openai = new OpenAI({ baseURL: `${stack.gateway!.url}/openai/v1`, apiKey: key, maxRetries: 0 });
    const transcript = await groq.audio.transcriptions.create({
      file: await toFile(silentWav(3), 'hello.wav'),
      model: 'whisper-large-v3-turbo',
    });
    expect(transcript.text.length).toBeGreaterThan(0);
    const speech = await groq.audio.speech.create({
      model: 'canopylabs/orpheus-v1-english',
      voice: 'autumn',
      input: 'Hello from the demo team',
    });
    expect(
      Buffer.from(await speech.arrayBuffer())
        .subarray(0, 4)
        .toString('ascii'),
    ).toBe('RIFF');
    const response = await openai.responses.create({ model: 'llama-3.3-70b-versatile', input: 'Hello' });
    expect(response.output_text.length).toBeGreaterThan(0);
  });
});
