import assert from 'node:assert/strict';
import { test } from 'node:test';
import ELK from 'elkjs/lib/elk.bundled.js';
import {
  assignLayers, cardWidth, CARD, fromElkLayout, layoutGraph, longEdgeWork, MAX_LONG_EDGE_WORK, midpoint, toElkGraph,
} from '../../static/src/layout.js';
import { fixture } from './load.js';

const chain = fixture('chain-rule');
const shared = fixture('shared-parameter');
const mlp = fixture('regression-mlp');

function centreY(box) {
  return box.y + box.height / 2;
}

test('toElkGraph: one box per node, one edge per operand, keyed by source-target-slot', () => {
  const graph = toElkGraph(chain);
  assert.equal(graph.children.length, chain.nodes.length);
  assert.deepEqual(graph.edges.map((edge) => edge.id), ['0-2-0', '1-2-1', '2-4-0', '3-4-1']);
  assert.equal(graph.layoutOptions['elk.direction'], 'RIGHT');
});

test('toElkGraph: x * x gives two edges into two different ports', () => {
  const square = {
    nodes: [
      { id: 0, op: 'input', name: 'x', label: 'x', shape: [], value: 3, grad: 6, inputs: [] },
      { id: 1, op: 'mul', name: 'y', label: 'y', shape: [], value: 9, grad: 1, inputs: [0, 0] },
    ],
  };
  const { edges } = toElkGraph(square);
  assert.equal(edges.length, 2);
  assert.notEqual(edges[0].id, edges[1].id);
  assert.notEqual(edges[0].targets[0], edges[1].targets[0]);
});

test('card width grows with the label and stays within bounds', () => {
  const short = cardWidth(chain.nodes[0]);
  const long = cardWidth({ ...chain.nodes[0], label: 'linear(x, W1, b1)' });
  assert.ok(short >= CARD.minWidth && long > short && long <= CARD.maxWidth);
});

test('chain rule layout: inputs left, output right, left operand above the right one', async () => {
  const layout = await layoutGraph(new ELK(), chain);
  const box = (id) => layout.nodes[id];
  const [x, y, q, z, f] = [0, 1, 2, 3, 4].map(box);
  assert.ok(x.x < q.x && y.x < q.x && q.x < f.x && z.x < f.x, 'left to right by dependency');
  assert.ok(centreY(x) < centreY(y), 'x (slot 0 of q = x + y) above y');
  assert.ok(centreY(q) < centreY(z), 'q (slot 0 of f = q * z) above z');
  for (const edge of layout.edges) assert.ok(edge.points.length >= 2, `edge ${edge.key} is routed`);
});

test('operand order is kept in the shared-parameter graph and the MLP', async () => {
  for (const response of [shared, mlp]) {
    const layout = await layoutGraph(new ELK(), response);
    for (const node of response.nodes) {
      for (let slot = 1; slot < node.inputs.length; slot += 1) {
        const above = layout.nodes[node.inputs[slot - 1]];
        const below = layout.nodes[node.inputs[slot]];
        if (node.inputs[slot - 1] === node.inputs[slot]) continue;
        // Compare where the edges arrive: the ports are in slot order even when sources share a layer.
        const arriving = (s) => layout.edges.find((edge) => edge.target === node.id && edge.slot === s).points.at(-1)[1];
        assert.ok(arriving(slot - 1) < arriving(slot), `${node.label}: slot ${slot - 1} enters above slot ${slot}`);
        assert.ok(above && below);
      }
    }
  }
});

test('fromElkLayout reads positions and routes without ELK', () => {
  const laidOut = {
    width: 300,
    height: 100,
    children: chain.nodes.map((node, i) => ({ id: `n${node.id}`, x: i * 10, y: 5, width: 120, height: 74 })),
    edges: [{ id: '0-2-0', sections: [{ startPoint: { x: 1, y: 2 }, bendPoints: [{ x: 3, y: 4 }], endPoint: { x: 5, y: 6 } }] }],
  };
  const layout = fromElkLayout(chain, laidOut);
  assert.deepEqual(layout.nodes[2], { id: 2, x: 20, y: 5, width: 120, height: 74 });
  assert.deepEqual(layout.edges[0].points, [[1, 2], [3, 4], [5, 6]]);
  assert.deepEqual(layout.edges[1].points, [], 'an edge ELK did not route has no points');
});

test('midpoint halves the length of a polyline', () => {
  assert.deepEqual(midpoint([[0, 0], [10, 0], [10, 10]]), [10, 0]);
  assert.deepEqual(midpoint([[0, 0], [4, 0]]), [2, 0]);
});

function recurrence(steps) {
  // h = tanh(h * w + b) `steps` times, w and b shared by every step.
  const nodes = [
    { id: 0, op: 'input', name: 'h0', label: 'h0', shape: [], value: 0.5, grad: 0, inputs: [] },
    { id: 1, op: 'input', name: 'w', label: 'w', shape: [], value: 0.8, grad: 0, inputs: [] },
    { id: 2, op: 'input', name: 'b', label: 'b', shape: [], value: 0.1, grad: 0, inputs: [] },
  ];
  let h = 0;
  for (let i = 0; i < steps; i += 1) {
    const id = nodes.length;
    nodes.push({ id, op: 'mul', name: null, label: 'h * w', shape: [], value: 0, grad: 0, inputs: [h, 1] });
    nodes.push({ id: id + 1, op: 'add', name: null, label: 'h * w + b', shape: [], value: 0, grad: 0, inputs: [id, 2] });
    nodes.push({ id: id + 2, op: 'tanh', name: 'h', label: 'h', shape: [], value: 0, grad: 0, inputs: [id + 1] });
    h = id + 2;
  }
  return { nodes, output: h };
}

test('layers: ops right of their operands, inputs just left of their first use', () => {
  const layer = assignLayers(chain);
  assert.deepEqual(Array.from(layer), [0, 0, 1, 1, 2]);
  const deep = recurrence(3);
  const layers = assignLayers(deep);
  assert.equal(layers[1], 0, 'w sits left of its first consumer');
  assert.equal(layers[deep.output], 9);
});

test('long shared edges are counted, and a graph past the budget gets the quick layout', async () => {
  assert.equal(longEdgeWork(chain), 0);
  const small = recurrence(3);
  assert.ok(longEdgeWork(small) > 0);
  const huge = recurrence(160);
  assert.ok(longEdgeWork(huge) > MAX_LONG_EDGE_WORK);
  const neverCalled = { layout: () => assert.fail('ELK must not be asked for this graph') };
  const layout = await layoutGraph(neverCalled, huge);
  assert.equal(layout.engine, 'quick');
  assert.equal(layout.nodes.length, huge.nodes.length);
  for (const node of huge.nodes) {
    for (const source of node.inputs) assert.ok(layout.nodes[source].x < layout.nodes[node.id].x);
  }
  const edge = layout.edges.find((item) => item.key === '1-3-1');
  assert.equal(edge.points.length, 4, 'one cubic segment, as render.js draws ELK splines');
});
