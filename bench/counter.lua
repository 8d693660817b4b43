-- wrk script: each connection is one till (its own thread), scanning a customer's code and
-- completing a sale for the scan, over and over, through the real endpoints: the point-of-sale
-- API (mode "api": Bearer key, JSON) or the counter page (mode "page": session cookie, form).
-- The harness writes the cashiers file: one entry per thread with its API key, session cookie,
-- CSRF token and the customer codes it serves.
-- Arguments: <cashiers file> <largest number of sales per connection> <where in the codes to start>
--            <mode: api|page> <Idempotency-Key on every request: 0|1>

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } timespec;
  int clock_gettime(int clk_id, timespec *tp);
]]
local now_ts = ffi.new("timespec")
local function now_us()
  ffi.C.clock_gettime(1, now_ts) -- CLOCK_MONOTONIC
  return tonumber(now_ts.tv_sec) * 1000000 + tonumber(now_ts.tv_nsec) / 1000
end

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  local cashiers = dofile(args[1])
  max_sales = tonumber(args[2])
  me = cashiers[id]
  if me == nil then error("no cashier for wrk thread " .. id) end
  next_code, sales, errors, phase = tonumber(args[3]) % #me.codes + 1, 0, 0, "scan"
  api = args[4] == "api"
  with_keys = args[5] == "1"
  if api then
    headers = { ["Authorization"] = "Bearer " .. me.key, ["Content-Type"] = "application/json" }
  else
    headers = {
      ["Cookie"] = me.cookie,
      ["X-CSRFToken"] = me.csrf,
      ["Content-Type"] = "application/x-www-form-urlencoded",
    }
  end
  pairs_us = {}
  last_error = ""
end

local function with_key(kind)
  if not with_keys then return headers end
  local h = {}
  for k, v in pairs(headers) do h[k] = v end
  h["Idempotency-Key"] = kind .. "-" .. key
  return h
end

function request()
  if phase == "scan" then
    started = now_us()
    key = string.format("bench-%d-%d-%d-%d", id, sales, errors, started)
    local code = me.codes[next_code]
    next_code = next_code % #me.codes + 1
    if api then return wrk.format("POST", "/api/v1/scans", with_key("scan"), '{"code": "' .. code .. '"}') end
    return wrk.format("POST", "/scan/resolve/", headers, "code=" .. code)
  end
  if api then
    return wrk.format("POST", "/api/v1/transactions", with_key("sale"),
      '{"scan_id": "' .. scan_id .. '", "customer_id": "' .. customer_id .. '", "amount": "12.50", '
        .. '"payment_method": "card"}')
  end
  return wrk.format("POST", "/scan/checkout/", headers,
    "scan=" .. scan_id .. "&customer=" .. customer_id .. "&amount=12.50&payment_method=card"
      .. "&points_to_redeem=0&idempotency_key=" .. key
      .. "&items-TOTAL_FORMS=0&items-INITIAL_FORMS=0&items-MIN_NUM_FORMS=0&items-MAX_NUM_FORMS=50")
end

function response(status, headers, body)
  if phase == "scan" then
    if status == 200 then
      scan_id = string.match(body, api and '"scan_id":%s*"([%x-]+)"' or '"scan":%s*"([%x-]+)"')
      customer_id = string.match(body, '"id":%s*"([%x-]+)"')
      phase = "checkout"
    else
      errors = errors + 1
      last_error = "scan " .. status .. " " .. string.sub(body, 1, 200)
    end
    return
  end
  phase = "scan"
  if status == (api and 201 or 302) then
    sales = sales + 1
    pairs_us[#pairs_us + 1] = now_us() - started
    if sales >= max_sales then wrk.thread:stop() end
  else
    errors = errors + 1
    last_error = "sale " .. status .. " " .. string.sub(body, 1, 200)
  end
end

function done(summary, latency, requests)
  local sales, errors, all, last = 0, 0, {}, ""
  for _, thread in ipairs(threads) do
    sales = sales + thread:get("sales")
    errors = errors + thread:get("errors")
    if thread:get("last_error") ~= "" then last = thread:get("last_error") end
    for _, v in ipairs(thread:get("pairs_us")) do all[#all + 1] = string.format("%d", v) end
  end
  io.write(string.format(
    'BENCH {"sales": %d, "errors": %d, "duration_us": %d, "socket_errors": %d, "last_error": "%s", "pairs_us": [%s]}\n',
    sales, errors, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    (string.gsub(string.gsub(last, "[^%w%.%-:/ ]", " "), "%s+", " ")), table.concat(all, ",")))
end
