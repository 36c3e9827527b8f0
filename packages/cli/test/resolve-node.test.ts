// `berth nodes rm NAME|ID`: which node a word names.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveNode } from '../src/commands/nodes.js';

const nodes = [
  { id: '1f2e3d4c-0000-4000-8000-000000000001', name: 'edge-1' },
  { id: '9a8b7c6d-0000-4000-8000-000000000002', name: 'edge-2' },
  { id: '9a8b7c6d-1111-4000-8000-000000000003', name: 'edge-2' },
];

describe('resolveNode', () => {
  it('takes an id, an 8-character prefix, or a unique name', () => {
    assert.equal(resolveNode(nodes, nodes[0]!.id), nodes[0]!.id);
    assert.equal(resolveNode(nodes, '1f2e3d4c'), nodes[0]!.id);
    assert.equal(resolveNode(nodes, 'edge-1'), nodes[0]!.id);
  });
  it('refuses a name or prefix two nodes share, listing their ids', () => {
    assert.throws(() => resolveNode(nodes, 'edge-2'), { code: 'BERTH_CLI_AMBIGUOUS_NODE' });
    assert.throws(() => resolveNode(nodes, '9a8b7c6d'), /9a8b7c6d-0000.*9a8b7c6d-1111/);
  });
  it('passes an unknown word on as an id (a disconnected node the API forgot)', () => {
    assert.equal(resolveNode(nodes, 'cafe'), 'cafe');
  });
});
