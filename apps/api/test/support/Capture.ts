import { Cause, Exit, Inspectable, Layer, Logger, LogLevel, Option, Tracer } from "effect"

/**
 * Everything the application logged or traced, serialised as an exporter would (span attributes, events and
 * failure causes), so a test can search it for secrets.
 */
export class Capture {
  readonly lines: Array<string> = []

  get text(): string {
    return this.lines.join("\n")
  }

  readonly logger = Logger.make(({ annotations, cause, logLevel, message, spans }) => {
    this.lines.push(
      Inspectable.stringifyCircular({
        level: logLevel.label,
        message,
        annotations: Object.fromEntries(annotations),
        spans: [...spans].map((span) => span.label),
        cause: Cause.isEmpty(cause) ? undefined : Cause.pretty(cause, { renderErrorCause: true })
      })
    )
  })

  readonly tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const attributes = new Map<string, unknown>()
      const lines = this.lines
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: Math.random().toString(16).slice(2),
        traceId: Option.match(parent, { onNone: () => Math.random().toString(16).slice(2), onSome: (p) => p.traceId }),
        parent,
        context,
        status: { _tag: "Started", startTime },
        attributes,
        links,
        sampled: true,
        kind,
        end: (_endTime, exit) => {
          lines.push(Inspectable.stringifyCircular({
            span: name,
            attributes: Object.fromEntries(attributes),
            outcome: Exit.isSuccess(exit) ? "ok" : Cause.pretty(exit.cause, { renderErrorCause: true })
          }))
        },
        attribute: (key, value) => {
          attributes.set(key, value)
        },
        event: (eventName, _time, eventAttributes) => {
          lines.push(Inspectable.stringifyCircular({ span: name, event: eventName, attributes: eventAttributes }))
        },
        addLinks: () => {}
      }
      return span
    },
    context: (f) => f()
  })

  get layer(): Layer.Layer<never> {
    return Layer.mergeAll(
      Logger.replace(Logger.defaultLogger, this.logger),
      Logger.minimumLogLevel(LogLevel.All),
      Layer.setTracer(this.tracer)
    )
  }
}
