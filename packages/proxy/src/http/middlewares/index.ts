// Every middleware kind Berth implements, by its configuration key.
import type { HttpMiddleware } from '@berth/config';
import type { MiddlewareFactory } from '../context.js';
import { middlewaresA } from './registry-a.js';
import { middlewaresB } from './registry-b.js';

export const middlewareFactories: Partial<Record<keyof HttpMiddleware, MiddlewareFactory>> = {
  ...middlewaresA,
  ...middlewaresB,
};
