export interface TemporalBinaries {
  pinned: { cli: string; testServer: string };
  /** the `temporal` CLI (dev server) */
  temporal: string;
  /** the time-skipping test server */
  testServer: string;
  cliVersion: string;
}
export declare const PINNED: { cli: string; testServer: string };
export declare const toolsDir: string;
export declare function ensureTemporal(options?: { quiet?: boolean }): TemporalBinaries;
