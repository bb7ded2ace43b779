import { Metric, MetricLabel } from "effect"

/**
 * `metric` tagged with a set of labels, made once per distinct set and then looked up. Effect finds the registry
 * entry of a tagged metric by the identity of its label array, so a metric tagged per update, or tagged twice (the
 * outer labels and the inner ones are joined into a new array at every update), builds and hashes a new key each
 * time; one flat tagging reused costs a tenth of that.
 */
export const labelledMetric = <Type, In, Out>(
  metric: Metric.Metric<Type, In, Out>,
  fixed: Readonly<Record<string, string>> = {}
): (labels: Readonly<Record<string, string>>) => Metric.Metric<Type, In, Out> => {
  const made = new Map<string, Metric.Metric<Type, In, Out>>()
  const fixedLabels = Object.entries(fixed).map(([name, value]) => MetricLabel.make(name, value))
  return (labels) => {
    let key = ""
    for (const name in labels) key += `${name}\u0000${labels[name]}\u0001`
    let tagged = made.get(key)
    if (tagged === undefined) {
      tagged = Metric.taggedWithLabels(metric, [
        ...fixedLabels,
        ...Object.entries(labels).map(([name, value]) => MetricLabel.make(name, value))
      ])
      made.set(key, tagged)
    }
    return tagged
  }
}
