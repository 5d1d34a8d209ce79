/** the built entry point of `entry` (a TypeScript file, as a path relative to the project) */
export declare function compiledPathOf(entry: string): string;
/** whether the build of `entry` exists and none of the files it was built from changed since */
export declare function isFresh(entry: string): boolean;
/** build `entry` into `.build/` (throws when esbuild cannot) */
export declare function buildEntry(entry: string): Promise<void>;
/** make sure `entry` has a fresh build: false when esbuild could not build it (why on stderr) */
export declare function ensureBuilt(entry: string): Promise<boolean>;
/** run `entry` and return its module: compiled (built first when stale), or through tsx */
export declare function importEntry(entry: string): Promise<Record<string, unknown>>;
/** the entry points every process of a running system starts from */
export declare const ENTRIES: readonly string[];
