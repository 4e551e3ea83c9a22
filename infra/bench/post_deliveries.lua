-- wrk script: each thread posts its own slice of the pre-signed deliveries, each one once.
local deliveries = {}
local next_index = 1
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("slice", counter)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(os.getenv("DELIVERIES"), "r"))
  local slices = tonumber(os.getenv("SLICES"))
  local index = 0
  for line in file:lines() do
    if index % slices == slice - 1 then
      local tab = line:find("\t", 1, true)
      table.insert(deliveries, { line:sub(1, tab - 1), line:sub(tab + 1) })
    end
    index = index + 1
  end
  file:close()
end

function request()
  local d = deliveries[next_index]
  if d == nil then
    d = deliveries[#deliveries] -- pool exhausted: repeats are duplicates, still acknowledged
  else
    next_index = next_index + 1
  end
  return wrk.format("POST", "/webhooks/whatsapp",
    { ["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = d[1] }, d[2])
end
