// Node's process warnings (deprecations, MaxListeners, experimental features) as log lines of the process's own pino logger.

/** The part of a pino logger this needs. */
export interface WarningLogger {
  warn(obj: object, msg: string): void;
}

/**
 * Replaces Node's default warning printer (plain text on stderr, which breaks a JSON log stream)
 * with one JSON line per warning, at `warn`. Warnings emitted before this runs keep Node's format.
 */
export function logProcessWarnings(logger: WarningLogger): void {
  process.removeAllListeners('warning');
  process.on('warning', (w: Error & { code?: string; detail?: string }) => {
    logger.warn(
      {
        warning: {
          name: w.name,
          ...(w.code === undefined ? {} : { code: w.code }),
          message: w.message,
          ...(w.detail === undefined ? {} : { detail: w.detail }),
        },
      },
      'node warning',
    );
  });
}
