/**
 * LearningSpace public calendar JSON (`/w/api/v2/public_calendar.json`).
 * Its schema is not published; this preset assumes the plausible shape below and is only a
 * field map, so a real feed that differs is adapted with `--map` (docs/json-input.md):
 *
 * ```json
 * { "events": [ { "id": 4711, "title": "OSCE circuit A", "start": "2026-11-23T09:00:00",
 *     "end": "2026-11-23T12:00:00", "timezone": "Europe/Berlin", "all_day": false,
 *     "room": { "id": 12, "name": "Sim Room 1" }, "location": "Simulation Centre, Level 2",
 *     "status": "approved", "description": "…", "course": { "name": "…" },
 *     "updated_at": "2026-11-20T10:00:00Z" } ] }
 * ```
 * Events booking several rooms may carry `rooms: [{id, name}]` instead of `room`; rows that
 * repeat an id once per room are merged. Without `location`, the room name is the location.
 */
import type { FieldMap } from './mapping';

export const LEARNINGSPACE_MAP: FieldMap = {
  items: 'events|data',
  id: 'id|uuid',
  title: 'title|name',
  start: 'start|start_time|starts_at',
  end: 'end|end_time|ends_at',
  duration: 'duration_min|duration',
  timeZone: 'timezone|time_zone|timeZone',
  allDay: 'all_day|allDay',
  location: 'location|room.name|rooms.*.name',
  room: 'room.id|rooms.*.id|room_id',
  status: 'status',
  description: 'description|notes',
  categories: 'course.name|type',
  url: 'url',
  created: 'created_at',
  lastModified: 'updated_at',
};
