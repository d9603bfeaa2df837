/**
 * Sonderplan bookings (REST API v2). The list endpoints answer
 * `{ data: [...], meta: { pagination: {...} } }` and take `fields=id,name,start,duration_min`;
 * the booking model itself is not in the vendor's documentation, so this preset assumes the plausible shape below
 * (start as unix seconds or ISO, length in minutes, resources with ids) and is only a field map:
 *
 * ```json
 * { "data": [ { "id": 90211, "name": "Studio A – product shoot", "start": 1795424400,
 *     "duration_min": 120, "timezone": "Europe/Berlin",
 *     "resources": [ { "id": 1928, "name": "Studio A" } ], "status": { "id": 1, "name": "Confirmed" },
 *     "project": { "id": 2, "name": "Autumn catalogue" }, "notes": "…",
 *     "updated": 1795000000 } ],
 *   "meta": { "pagination": { "total": 1, "count": 1, "per_page": 10, "current_page": 1 } } }
 * ```
 * Resource ids become `rooms`; resource names the location. Adapt with `--map` (docs/json-input.md).
 */
import type { FieldMap } from './mapping';

export const SONDERPLAN_MAP: FieldMap = {
  items: 'data',
  id: 'id',
  title: 'name|title',
  start: 'start',
  end: 'end',
  duration: 'duration_min',
  timeZone: 'timezone|time_zone',
  allDay: 'all_day',
  location: 'location|resources.*.name',
  room: 'resources.*.id|resource_id',
  status: 'status.name|status',
  description: 'notes|description',
  categories: 'project.name',
  created: 'created',
  lastModified: 'updated',
};
