-- SPDX-License-Identifier: MIT
-- vhost-user dissector for captures written by `./vhucheck pcap`
-- (link type 147, DLT_USER0). Each packet is an 8-byte pseudo-header
-- written by vhucheck, then one vhost-user message as it went over the
-- wire, or a note of the monitor (a finding, a control line).
--
--   tshark -X lua_script:runner/vhucheck/data/vhost-user.lua -r s.pcapng -V
--
-- Wireshark: copy this file to ~/.local/lib/wireshark/plugins/.
-- Layout and fields: docs/wireshark.md.

local p = Proto("vhostuser", "vhost-user")

local KIND = { [1] = "message", [2] = "note" }
local CHAN = { [0] = "main", [1] = "backend" }
local FROM = { [0] = "front-end", [1] = "back-end", [2] = "monitor" }

-- Request names per channel (digest section 3; QEMU's vhost-user.rst).
local FE_REQ = {
  [1] = "GET_FEATURES", [2] = "SET_FEATURES", [3] = "SET_OWNER",
  [4] = "RESET_OWNER", [5] = "SET_MEM_TABLE", [6] = "SET_LOG_BASE",
  [7] = "SET_LOG_FD", [8] = "SET_VRING_NUM", [9] = "SET_VRING_ADDR",
  [10] = "SET_VRING_BASE", [11] = "GET_VRING_BASE", [12] = "SET_VRING_KICK",
  [13] = "SET_VRING_CALL", [14] = "SET_VRING_ERR",
  [15] = "GET_PROTOCOL_FEATURES", [16] = "SET_PROTOCOL_FEATURES",
  [17] = "GET_QUEUE_NUM", [18] = "SET_VRING_ENABLE", [19] = "SEND_RARP",
  [20] = "NET_SET_MTU", [21] = "SET_BACKEND_REQ_FD", [22] = "IOTLB_MSG",
  [23] = "SET_VRING_ENDIAN", [24] = "GET_CONFIG", [25] = "SET_CONFIG",
  [26] = "CREATE_CRYPTO_SESSION", [27] = "CLOSE_CRYPTO_SESSION",
  [28] = "POSTCOPY_ADVISE", [29] = "POSTCOPY_LISTEN", [30] = "POSTCOPY_END",
  [31] = "GET_INFLIGHT_FD", [32] = "SET_INFLIGHT_FD", [33] = "GPU_SET_SOCKET",
  [34] = "RESET_DEVICE", [35] = "VRING_KICK", [36] = "GET_MAX_MEM_SLOTS",
  [37] = "ADD_MEM_REG", [38] = "REM_MEM_REG", [39] = "SET_STATUS",
  [40] = "GET_STATUS", [41] = "GET_SHARED_OBJECT", [42] = "SET_DEVICE_STATE_FD",
  [43] = "CHECK_DEVICE_STATE", [44] = "GET_SHMEM_CONFIG",
}
local BE_REQ = {
  [1] = "IOTLB_MSG", [2] = "CONFIG_CHANGE_MSG", [3] = "VRING_HOST_NOTIFIER_MSG",
  [4] = "VRING_CALL", [5] = "VRING_ERR", [6] = "SHARED_OBJECT_ADD",
  [7] = "SHARED_OBJECT_REMOVE", [8] = "SHARED_OBJECT_LOOKUP", [9] = "SHMEM_MAP",
  [10] = "SHMEM_UNMAP",
}

local f = p.fields
-- pseudo-header
f.pversion = ProtoField.uint8("vhostuser.pseudo.version", "Pseudo-header version")
f.kind = ProtoField.uint8("vhostuser.kind", "Record", base.DEC, KIND)
f.chan = ProtoField.uint8("vhostuser.channel", "Channel", base.DEC, CHAN)
f.from = ProtoField.uint8("vhostuser.from", "Sender", base.DEC, FROM)
f.nfds = ProtoField.uint8("vhostuser.nfds", "File descriptors")
f.mflags = ProtoField.uint8("vhostuser.monitor_flags", "Monitor flags", base.HEX)
f.m_dropped = ProtoField.bool("vhostuser.monitor_flags.dropped", "Dropped", 8, nil, 0x01)
f.m_injected = ProtoField.bool("vhostuser.monitor_flags.injected", "Injected", 8, nil, 0x02)
f.m_corrupted = ProtoField.bool("vhostuser.monitor_flags.corrupted", "Corrupted", 8, nil, 0x04)
f.m_delayed = ProtoField.bool("vhostuser.monitor_flags.delayed", "Delayed", 8, nil, 0x08)
f.m_duplicate = ProtoField.bool("vhostuser.monitor_flags.duplicate", "Duplicate", 8, nil, 0x10)
f.m_swallowed = ProtoField.bool("vhostuser.monitor_flags.swallowed", "Swallowed", 8, nil, 0x20)
f.note = ProtoField.string("vhostuser.note", "Monitor note")
-- header
f.fe_request = ProtoField.uint32("vhostuser.request", "Request", base.DEC, FE_REQ)
f.be_request = ProtoField.uint32("vhostuser.backend_request", "Back-end request",
  base.DEC, BE_REQ)
f.flags = ProtoField.uint32("vhostuser.flags", "Flags", base.HEX)
f.version = ProtoField.uint32("vhostuser.flags.version", "Version", base.DEC, nil, 0x3)
f.reply = ProtoField.bool("vhostuser.flags.reply", "REPLY", 32, nil, 0x4)
f.need_reply = ProtoField.bool("vhostuser.flags.need_reply", "NEED_REPLY", 32, nil, 0x8)
f.size = ProtoField.uint32("vhostuser.size", "Size")
-- payloads
f.u64 = ProtoField.uint64("vhostuser.u64", "u64", base.HEX)
f.mmap_shmid = ProtoField.uint8("vhostuser.mmap.shmid", "shmid")
f.mmap_padding = ProtoField.bytes("vhostuser.mmap.padding", "padding")
f.mmap_fd_offset = ProtoField.uint64("vhostuser.mmap.fd_offset", "fd_offset", base.HEX)
f.mmap_shm_offset = ProtoField.uint64("vhostuser.mmap.shm_offset", "shm_offset", base.HEX)
f.mmap_len = ProtoField.uint64("vhostuser.mmap.len", "len", base.HEX)
f.mmap_flags = ProtoField.uint64("vhostuser.mmap.flags", "flags", base.HEX)
f.mmap_rw = ProtoField.bool("vhostuser.mmap.flags.rw", "MAP_RW", 64, nil, 0x1)
f.shm_nregions = ProtoField.uint32("vhostuser.shmem_config.nregions", "nregions")
f.shm_padding = ProtoField.uint32("vhostuser.shmem_config.padding", "padding", base.HEX)
f.shm_size = ProtoField.uint64("vhostuser.shmem_config.memory_size", "memory_size", base.HEX)
f.mem_nregions = ProtoField.uint32("vhostuser.mem.nregions", "nregions")
f.mem_gpa = ProtoField.uint64("vhostuser.mem.guest_phys_addr", "guest_phys_addr", base.HEX)
f.mem_size = ProtoField.uint64("vhostuser.mem.memory_size", "memory_size", base.HEX)
f.mem_uva = ProtoField.uint64("vhostuser.mem.userspace_addr", "userspace_addr", base.HEX)
f.mem_off = ProtoField.uint64("vhostuser.mem.mmap_offset", "mmap_offset", base.HEX)
f.vring_index = ProtoField.uint32("vhostuser.vring.index", "index")
f.vring_num = ProtoField.uint32("vhostuser.vring.num", "num")
f.data = ProtoField.bytes("vhostuser.payload", "Payload")

local function add_flags(tree, tvb)
  local t = tree:add_le(f.flags, tvb)
  t:add_le(f.version, tvb)
  t:add_le(f.reply, tvb)
  t:add_le(f.need_reply, tvb)
end

local function mmap(tree, pl)
  local t = tree:add(p, pl(0, 40), "VhostUserMMap")
  t:add(f.mmap_shmid, pl(0, 1))
  t:add(f.mmap_padding, pl(1, 7))
  t:add_le(f.mmap_fd_offset, pl(8, 8))
  t:add_le(f.mmap_shm_offset, pl(16, 8))
  t:add_le(f.mmap_len, pl(24, 8))
  local fl = t:add_le(f.mmap_flags, pl(32, 8))
  fl:add_le(f.mmap_rw, pl(32, 8))
  return string.format(" shmid=%d shm_offset=0x%x len=0x%x", pl(0, 1):uint(),
    pl(16, 8):le_uint64():tonumber(), pl(24, 8):le_uint64():tonumber())
end

local function shmem_config(tree, pl)
  local t = tree:add(p, pl(0, 2056), "VhostUserShMemConfig")
  t:add_le(f.shm_nregions, pl(0, 4))
  t:add_le(f.shm_padding, pl(4, 4))
  for i = 0, 255 do
    local v = pl(8 + 8 * i, 8)
    if v:le_uint64() ~= UInt64(0) then
      t:add_le(f.shm_size, v):prepend_text(string.format("[%d] ", i))
    end
  end
  return string.format(" nregions=%d", pl(0, 4):le_uint())
end

local function mem_table(tree, pl, len)
  local t = tree:add(p, pl(0, len), "Memory table")
  t:add_le(f.mem_nregions, pl(0, 4))
  local n = pl(0, 4):le_uint()
  for i = 0, n - 1 do
    local o = 8 + 32 * i
    if o + 32 > len then break end
    local r = t:add(p, pl(o, 32), string.format("Region %d", i))
    r:add_le(f.mem_gpa, pl(o, 8))
    r:add_le(f.mem_size, pl(o + 8, 8))
    r:add_le(f.mem_uva, pl(o + 16, 8))
    r:add_le(f.mem_off, pl(o + 24, 8))
  end
end

-- The payload, by request and direction; returns text for the Info column.
local function payload(tree, pl, chan, req, is_reply, len)
  if chan == 1 and (req == 9 or req == 10) and not is_reply and len >= 40 then
    return mmap(tree, pl)
  end
  if chan == 0 and req == 44 and is_reply and len >= 2056 then
    return shmem_config(tree, pl)
  end
  if chan == 0 and req == 5 and not is_reply and len >= 8 then
    mem_table(tree, pl, len)
    return ""
  end
  if len == 8 and chan == 0 and (req == 8 or req == 10 or req == 18 or
      (req == 11 and is_reply)) then
    tree:add_le(f.vring_index, pl(0, 4))
    tree:add_le(f.vring_num, pl(4, 4))
    return ""
  end
  if len == 8 then
    tree:add_le(f.u64, pl(0, 8))
    return string.format(" u64=0x%x", pl(0, 8):le_uint64():tonumber())
  end
  if len > 0 then tree:add(f.data, pl(0, len)) end
  return ""
end

local function message(tvb, pinfo, tree, chan, from)
  if tvb:len() < 12 then
    tree:add(f.data, tvb())
    pinfo.cols.info = "partial header"
    return
  end
  local req = tvb(0, 4):le_uint()
  local flags = tvb(4, 4):le_uint()
  local size = tvb(8, 4):le_uint()
  local is_reply = bit.band(flags, 4) ~= 0
  local names = chan == 1 and BE_REQ or FE_REQ
  local name = names[req] or ("request " .. req)
  tree:add_le(chan == 1 and f.be_request or f.fe_request, tvb(0, 4))
  add_flags(tree, tvb(4, 4))
  tree:add_le(f.size, tvb(8, 4))
  local info = ""
  local len = tvb:len() - 12
  if len > 0 then
    info = payload(tree, tvb(12, len), chan, req, is_reply, len)
  end
  pinfo.cols.info = string.format("%s %s %s%s%s", CHAN[chan], FROM[from] or "?",
    name, is_reply and " reply" or "", info)
end

function p.dissector(tvb, pinfo, tree)
  if tvb:len() < 8 then return 0 end
  pinfo.cols.protocol = "vhost-user"
  pinfo.cols.src = FROM[tvb(3, 1):uint()] or "?"
  if tvb(1, 1):uint() == 2 then
    pinfo.cols.dst = "(note)"
  else
    pinfo.cols.dst = (tvb(3, 1):uint() == 1 or tvb(3, 1):uint() == 2) and "front-end"
      or "back-end"
  end
  local t = tree:add(p, tvb())
  local kind, chan, from = tvb(1, 1):uint(), tvb(2, 1):uint(), tvb(3, 1):uint()
  t:add(f.pversion, tvb(0, 1))
  t:add(f.kind, tvb(1, 1))
  t:add(f.chan, tvb(2, 1))
  t:add(f.from, tvb(3, 1))
  t:add(f.nfds, tvb(4, 1))
  local mf = t:add(f.mflags, tvb(5, 1))
  mf:add(f.m_dropped, tvb(5, 1))
  mf:add(f.m_injected, tvb(5, 1))
  mf:add(f.m_corrupted, tvb(5, 1))
  mf:add(f.m_delayed, tvb(5, 1))
  mf:add(f.m_duplicate, tvb(5, 1))
  mf:add(f.m_swallowed, tvb(5, 1))
  if tvb:len() == 8 then return 8 end
  if kind == 2 then
    t:add(f.note, tvb(8))
    pinfo.cols.info = "# " .. tvb(8):string()
    return tvb:len()
  end
  message(tvb(8):tvb(), pinfo, t, chan, from)
  return tvb:len()
end

local encaps = wtap_encaps or wtap
DissectorTable.get("wtap_encap"):add(encaps.USER0, p)
