// One pino JSON logger per process, named after its role.
import pino, { type Logger } from 'pino';

export function createLogger(name: string, level = 'info'): Logger {
  return pino({ name, level, base: { pid: process.pid, name } });
}
