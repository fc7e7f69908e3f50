/**
 * Bytes and HTTP requests per event, from the totals: one formula for a
 * run's workers (engine.ts) and a run's segments (merge.ts).
 */
import type { WireCost } from "./types.js";

export function wireCost(bytesSent: number, bytesReceived: number, httpRequests: number, events: number): WireCost {
  return {
    bytesSent,
    bytesReceived,
    httpRequests,
    bytesPerEvent: events > 0 ? Math.round(((bytesSent + bytesReceived) / events) * 10) / 10 : 0,
    httpRequestsPerEvent: events > 0 ? Math.round((httpRequests / events) * 1000) / 1000 : 0,
  };
}
