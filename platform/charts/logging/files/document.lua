-- Fluent Bit lua filter: one record of the kubernetes filter becomes the document the local
-- shipper indexes for the same line (platform/local/images/shipper/rsyslog.conf.in):
--   the line's own fields when it was a JSON object (Merge_Log put them at the top level),
--   else message = the raw line; then stream, container (short id), role and run (pod labels),
--   and service / replica / zone from the pod only when the line has none.
-- Only fields the index template maps are kept: the kubernetes metadata, the runtime's time and
-- _p, and the line's unmapped fields are dropped.
-- @timestamp is not set here. out_opensearch always writes its Time_Key from the record's time,
-- which is the runtime's receive time parsed by the cri parser (kept by returning code 2): a
-- second @timestamp key would make the document a JSON object with a duplicate key.
-- The chart prepends TEMPLATE_FIELDS (set of field names) and MAPPING (pod label keys).

-- Fields the shipper owns, as in rsyslog.conf.in; the line's own values of these are replaced.
local SHIPPER_FIELDS = {["@timestamp"] = true, stream = true, container = true, run = true, role = true}

local function missing(value)
  return value == nil or value == ""
end

local function present(value)
  if missing(value) then
    return nil
  end
  return value
end

function to_document(tag, timestamp, record)
  local kube = record["kubernetes"] or {}
  local labels = kube["labels"] or {}
  local doc = {}
  if record["log"] ~= nil then
    -- Merge_Log leaves `log` in place only when the line is not a JSON object.
    doc["message"] = record["log"]
  else
    for key, value in pairs(record) do
      if TEMPLATE_FIELDS[key] and not SHIPPER_FIELDS[key] then
        doc[key] = value
      end
    end
  end

  doc["stream"] = record["stream"]
  local id = kube["docker_id"]
  if type(id) == "string" then
    doc["container"] = string.sub(id, 1, 12)
  end
  doc["role"] = present(labels[MAPPING.role_label])
  doc["run"] = present(labels[MAPPING.run_label])

  if missing(doc["service"]) then
    doc["service"] = doc["role"] or present(kube["container_name"])
  end
  if missing(doc["replica"]) then
    doc["replica"] = present(kube["pod_name"])
  end
  if missing(doc["zone"]) then
    doc["zone"] = present(labels[MAPPING.zone_label]) or present(MAPPING.default_zone)
  end

  for key in pairs(doc) do
    if not TEMPLATE_FIELDS[key] or key == "@timestamp" then
      doc[key] = nil
    end
  end
  return 2, timestamp, doc
end
