// A prediction over a large training set draws at most 2,000 training points
// (and says so), so a chart never grows with N.

import { strict as assert } from "node:assert";
import { test } from "node:test";
import * as gp from "../lib";
import { predictionSpec } from "../lib/display/prediction";

test("training points in a 1-D prediction chart are thinned and the subtitle says so", () => {
  const nTrain = 50_000;
  const data = {
    kind: "prediction" as const,
    inputDims: 1,
    x: Array.from({ length: 100 }, (_, i) => [i / 100]),
    mean: Array.from({ length: 100 }, () => [0]),
    variance: Array.from({ length: 100 }, () => [1]),
    noise: false,
    train: { x: Array.from({ length: nTrain }, (_, i) => [i / nTrain]), y: Array.from({ length: nTrain }, () => [0.5]) },
  };
  const spec = predictionSpec(data) as unknown as { data: { values: { series: string }[] }; title: { subtitle: string } };
  const train = spec.data.values.filter((r) => r.series === "train");
  assert.equal(train.length, 2000);
  assert.match(JSON.stringify(spec), /2,000 of 50,000 training points/);
  // Small training sets are drawn whole.
  const small = predictionSpec({ ...data, train: { x: data.train.x.slice(0, 30), y: data.train.y.slice(0, 30) } }) as unknown as { data: { values: { series: string }[] } };
  assert.equal(small.data.values.filter((r) => r.series === "train").length, 30);
});
