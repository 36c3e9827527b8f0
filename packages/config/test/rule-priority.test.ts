// Specifies Traefik's default router priority.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rulePriority } from '../src/index.js';

describe('rulePriority', () => {
  it('is the length of the rule text', () => {
    assert.equal(rulePriority('Host(`a.com`)'), 13);
    assert.equal(rulePriority(''), 0);
  });

  it('ranks a longer, more specific rule above a shorter one', () => {
    assert.ok(rulePriority('Host(`a.com`) && PathPrefix(`/api`)') > rulePriority('Host(`a.com`)'));
  });

  it('counts UTF-8 bytes as Traefik does, so non-ASCII paths weigh what they weigh in Go', () => {
    assert.equal(rulePriority('Path(`/é`)'), 11);
    assert.equal(rulePriority('Path(`/😀`)'), 13);
  });
});
