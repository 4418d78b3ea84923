// Issue 23: an edge label never lies flush against a card nor outside the drawing (the MNIST page
// had one touching W1's card and one cut off at the top right).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { labelSpot } from '../../static/src/layout.js';

test('a label stays inside the drawing, which the camera frames', () => {
  // An edge near the top of the drawing over a wide card: on the edge the label grazes the card,
  // just above it lies partly above the drawing (cut off when the drawing is framed).
  const points = [[0, 30], [400, 30]];
  const card = { x: 0, y: 38, width: 400, height: 60 };
  const bounds = { x: 0, y: 0, width: 400, height: 200 };
  const [, y] = labelSpot(points, { width: 60, height: 20 }, [card], bounds);
  assert.ok(y - 10 >= 0, `label top at ${y - 10}`);
  // Without bounds the spot above the edge, partly outside the drawing, is taken.
  const [, free] = labelSpot(points, { width: 60, height: 20 }, [card]);
  assert.ok(free - 10 < 0);
});

test('a label sized with its gap is not placed flush against a card', () => {
  const points = [[0, 50], [300, 50]];
  const card = { x: 100, y: 20, width: 80, height: 60 };
  const gap = 6;
  const [x, y] = labelSpot(points, { width: 40 + 2 * gap, height: 20 + 2 * gap }, [card]);
  const apart = Math.max(card.x - (x + 20), x - 20 - (card.x + card.width), card.y - (y + 10), y - 10 - (card.y + card.height));
  assert.ok(apart >= gap, `${apart} px from the card`);
});

test('a label the view cuts is told apart from one wholly in or out of view', async () => {
  const { isCut } = await import('../../static/src/camera.js');
  const view = { x: 0, y: 0, width: 1000, height: 400 };
  // The MNIST page's top-right label: 857…1044 across a view ending at 1000.
  assert.equal(isCut({ x: 857, y: 119, width: 187, height: 20 }, view), true);
  assert.equal(isCut({ x: -20, y: 100, width: 60, height: 20 }, view), true);
  assert.equal(isCut({ x: 100, y: 390, width: 60, height: 20 }, view), true);
  assert.equal(isCut({ x: 857, y: 119, width: 143, height: 20 }, view), false);
  assert.equal(isCut({ x: 1900, y: 119, width: 130, height: 20 }, view), false);
  assert.equal(isCut({ x: 1000, y: 119, width: 130, height: 20 }, view), false);
});

test('a label wider than its short edge finds room past an end rather than over a card', () => {
  // The MNIST page's W1 → linear edge: 71 px between the cards, a 200 px label, a card above and
  // below the gap on the left and the target card above on the right.
  const points = [[592, 217], [663, 190]];
  const w1 = { x: 356, y: 180, width: 236, height: 74 };
  const linear = { x: 663, y: 140, width: 226, height: 74 };
  const x = { x: 378, y: 80, width: 213, height: 74 };
  const b1 = { x: 451, y: 280, width: 141, height: 74 };
  const size = { width: 206, height: 32 };
  const spot = labelSpot(points, size, [w1, linear, x, b1], null, { freeOnly: true });
  assert.notEqual(spot, null);
  const [cx, cy] = spot;
  const box = { x: cx - size.width / 2, y: cy - size.height / 2, width: size.width, height: size.height };
  for (const card of [w1, linear, x, b1]) {
    const apart = Math.max(card.x - (box.x + box.width), box.x - (card.x + card.width), card.y - (box.y + box.height), box.y - (card.y + card.height));
    assert.ok(apart >= 0, `the label covers a card: ${JSON.stringify(box)} over ${JSON.stringify(card)}`);
  }
});
