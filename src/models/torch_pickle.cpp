// The pickle virtual machine, cut down to what torch.save writes for a state dict (protocol 2;
// the few protocol-4 opcodes too, since torch can be asked for them). Values live in an arena
// owned by the Unpickler, so memo references and self-referencing containers cost nothing and
// cannot leak.
#include "models/torch_pickle.hpp"

#include <vlbench/core/error.hpp>

#include <deque>
#include <map>
#include <optional>
#include <unordered_map>

namespace vlbench {

namespace {

enum class Kind { none, boolean, integer, floating, string, tuple, list, dict, global, storage, tensor };

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::none:
      return "None";
    case Kind::boolean:
      return "bool";
    case Kind::integer:
      return "int";
    case Kind::floating:
      return "float";
    case Kind::string:
      return "str";
    case Kind::tuple:
      return "tuple";
    case Kind::list:
      return "list";
    case Kind::dict:
      return "dict";
    case Kind::global:
      return "global";
    case Kind::storage:
      return "storage";
    case Kind::tensor:
      return "tensor";
  }
  return "?";
}

// The only globals a state dict pickle needs.
enum class Global { ordered_dict, rebuild_tensor_v2, rebuild_tensor, storage_type };

struct Value {
  Kind kind = Kind::none;
  std::int64_t integer = 0;                        // boolean, integer; storage: index
  std::string text;                                // string; global: "module.name"
  Global global = Global::ordered_dict;            // global
  DType dtype = DType::f32;                        // global storage_type
  std::vector<Value*> items;                       // tuple, list
  std::vector<std::pair<Value*, Value*>> entries;  // dict
  PickledTensor tensor;                            // tensor (name filled at the end)
};

std::optional<DType> storage_dtype(std::string_view name) {
  if (name == "FloatStorage") return DType::f32;
  if (name == "HalfStorage") return DType::f16;
  if (name == "BFloat16Storage") return DType::bf16;
  if (name == "DoubleStorage") return DType::f64;
  if (name == "LongStorage") return DType::i64;
  if (name == "IntStorage") return DType::i32;
  if (name == "ShortStorage") return DType::i16;
  if (name == "CharStorage") return DType::i8;
  if (name == "ByteStorage") return DType::u8;
  if (name == "BoolStorage") return DType::boolean;
  return std::nullopt;
}

class Unpickler {
 public:
  Unpickler(std::string_view bytes, const std::string& file) : bytes_(bytes), file_(file) {}

  StateDictPickle run();

 private:
  // --- reading ---
  void need(std::size_t n) const {
    if (bytes_.size() - pos_ < n) {
      fail("{}: data.pkl is truncated: opcode 0x{:02x} at byte {} needs {} more bytes, {} left",
           file_, op_, op_pos_, n, bytes_.size() - pos_);
    }
  }
  std::uint64_t read_le(std::size_t n) {
    need(n);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) {
      v |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes_[pos_ + i])) << (8 * i);
    }
    pos_ += n;
    return v;
  }
  std::string read_bytes(std::uint64_t n) {
    if (n > bytes_.size() - pos_) need(bytes_.size() - pos_ + 1);  // throws, naming the opcode
    std::string out(bytes_.substr(pos_, static_cast<std::size_t>(n)));
    pos_ += static_cast<std::size_t>(n);
    return out;
  }
  std::string read_line() {
    const std::size_t end = bytes_.find('\n', pos_);
    if (end == std::string_view::npos) need(bytes_.size() - pos_ + 1);
    std::string out(bytes_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return out;
  }

  [[noreturn]] void malformed(const std::string& what) const {
    fail("{}: data.pkl byte {}: opcode 0x{:02x}: {}", file_, op_pos_, op_, what);
  }

  // --- values ---
  Value* make(Kind kind) {
    arena_.emplace_back();
    arena_.back().kind = kind;
    return &arena_.back();
  }
  Value* make_int(std::int64_t v) {
    Value* value = make(Kind::integer);
    value->integer = v;
    return value;
  }
  void push(Value* value) { stack_.push_back(value); }
  Value* pop() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) malformed("the stack is empty");
    Value* value = stack_.back();
    stack_.pop_back();
    return value;
  }
  Value* top() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) malformed("the stack is empty");
    return stack_.back();
  }
  std::vector<Value*> pop_mark() {
    if (marks_.empty()) malformed("no MARK to pop to");
    std::vector<Value*> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()),
                              stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  Value* expect(Value* value, Kind kind, std::string_view what) const {
    if (value->kind != kind) {
      malformed(
          fmt::format("{} is a {}, expected a {}", what, kind_name(value->kind), kind_name(kind)));
    }
    return value;
  }
  std::int64_t expect_int(Value* value, std::string_view what) const {
    return expect(value, Kind::integer, what)->integer;
  }
  std::vector<std::int64_t> expect_int_tuple(Value* value, std::string_view what) const {
    std::vector<std::int64_t> out;
    for (Value* item : expect(value, Kind::tuple, what)->items) {
      out.push_back(expect_int(item, what));
    }
    return out;
  }

  // --- opcodes with meaning ---
  Value* resolve_global(const std::string& module, const std::string& name);
  Value* persistent_load(Value* pid);
  Value* reduce(Value* callable, Value* args);
  Value* rebuild_tensor(const std::vector<Value*>& args, bool v2);

  std::string_view bytes_;
  const std::string& file_;
  std::size_t pos_ = 0;
  std::size_t op_pos_ = 0;
  unsigned op_ = 0;
  std::deque<Value> arena_;  // deque: pointers stay valid as it grows
  std::vector<Value*> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, Value*> memo_;
  std::vector<PickledStorage> storages_;
  std::map<std::string, std::size_t> storage_by_key_;
};

Value* Unpickler::resolve_global(const std::string& module, const std::string& name) {
  Value* value = make(Kind::global);
  value->text = module + "." + name;
  if (module == "collections" && name == "OrderedDict") {
    value->global = Global::ordered_dict;
  } else if (module == "torch._utils" && name == "_rebuild_tensor_v2") {
    value->global = Global::rebuild_tensor_v2;
  } else if (module == "torch._utils" && name == "_rebuild_tensor") {
    value->global = Global::rebuild_tensor;
  } else if (const auto dtype = storage_dtype(name); module == "torch" && dtype) {
    value->global = Global::storage_type;
    value->dtype = *dtype;
  } else {
    fail(
        "{}: pickle asks for global '{}', which a tensor state dict never needs; refusing to "
        "load",
        file_, value->text);
  }
  return value;
}

// ('storage', torch.XStorage, key, location, numel) -> a storage record, one per key.
Value* Unpickler::persistent_load(Value* pid) {
  expect(pid, Kind::tuple, "the persistent id");
  if (pid->items.size() != 5 || pid->items[0]->kind != Kind::string ||
      pid->items[0]->text != "storage") {
    malformed("persistent id is not ('storage', type, key, location, numel)");
  }
  Value* type = expect(pid->items[1], Kind::global, "the storage type");
  if (type->global != Global::storage_type) {
    malformed(fmt::format("storage type {} is not a torch.*Storage", type->text));
  }
  PickledStorage storage;
  storage.dtype = type->dtype;
  storage.key = expect(pid->items[2], Kind::string, "the storage key")->text;
  storage.location = expect(pid->items[3], Kind::string, "the storage location")->text;
  storage.numel = expect_int(pid->items[4], "the storage size");
  if (storage.numel < 0) malformed(fmt::format("storage '{}' has negative size", storage.key));

  auto [it, inserted] = storage_by_key_.emplace(storage.key, storages_.size());
  if (inserted) {
    storages_.push_back(storage);
  } else {
    const PickledStorage& seen = storages_[it->second];
    if (seen.dtype != storage.dtype || seen.numel != storage.numel) {
      malformed(fmt::format("storage '{}' is described twice, as {} x {} and as {} x {}",
                            storage.key, seen.numel, dtype_name(seen.dtype), storage.numel,
                            dtype_name(storage.dtype)));
    }
  }
  Value* value = make(Kind::storage);
  value->integer = static_cast<std::int64_t>(it->second);
  return value;
}

// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks
// [, metadata]) or _rebuild_tensor(storage, storage_offset, size, stride).
Value* Unpickler::rebuild_tensor(const std::vector<Value*>& args, bool v2) {
  const bool arity_ok = v2 ? (args.size() == 6 || args.size() == 7) : args.size() == 4;
  if (!arity_ok) {
    malformed(fmt::format("{} takes {} arguments, got {}",
                          v2 ? "_rebuild_tensor_v2" : "_rebuild_tensor", v2 ? "6 or 7" : "4",
                          args.size()));
  }
  Value* value = make(Kind::tensor);
  PickledTensor& tensor = value->tensor;
  tensor.storage =
      static_cast<std::size_t>(expect(args[0], Kind::storage, "the tensor's storage")->integer);
  tensor.storage_offset = expect_int(args[1], "the storage offset");
  tensor.shape = expect_int_tuple(args[2], "the tensor size");
  tensor.stride = expect_int_tuple(args[3], "the tensor stride");
  if (v2) {
    expect(args[4], Kind::boolean, "requires_grad");
    // backward_hooks: an OrderedDict (empty in a state dict); metadata: a dict or None.
    expect(args[5], Kind::dict, "backward_hooks");
    if (args.size() == 7 && args[6]->kind != Kind::none) expect(args[6], Kind::dict, "metadata");
  }
  return value;
}

Value* Unpickler::reduce(Value* callable, Value* args) {
  expect(callable, Kind::global, "the callable of REDUCE");
  const std::vector<Value*>& arg_items =
      expect(args, Kind::tuple, "the arguments of REDUCE")->items;
  switch (callable->global) {
    case Global::ordered_dict:
      // save_reduce writes OrderedDict() and adds items with SETITEMS afterwards.
      if (!arg_items.empty()) malformed("OrderedDict(...) with arguments");
      return make(Kind::dict);
    case Global::rebuild_tensor_v2:
      return rebuild_tensor(arg_items, true);
    case Global::rebuild_tensor:
      return rebuild_tensor(arg_items, false);
    case Global::storage_type:
      break;
  }
  malformed(fmt::format("REDUCE calls {}, which only tags storages", callable->text));
}

StateDictPickle Unpickler::run() {
  while (true) {
    op_pos_ = pos_;
    if (pos_ >= bytes_.size()) {
      fail("{}: data.pkl is truncated: it ends at byte {} before the STOP opcode", file_,
           bytes_.size());
    }
    op_ = static_cast<unsigned char>(bytes_[pos_++]);
    switch (op_) {
      case 0x80: {  // PROTO
        const auto protocol = read_le(1);
        if (protocol < 2 || protocol > 5) malformed(fmt::format("pickle protocol {}", protocol));
        break;
      }
      case 0x95:  // FRAME: a length hint only
        read_le(8);
        break;
      case '(':  // MARK
        marks_.push_back(stack_.size());
        break;
      case '}':  // EMPTY_DICT
        push(make(Kind::dict));
        break;
      case ']':  // EMPTY_LIST
        push(make(Kind::list));
        break;
      case ')':  // EMPTY_TUPLE
        push(make(Kind::tuple));
        break;
      case 't': {  // TUPLE
        Value* tuple = make(Kind::tuple);
        tuple->items = pop_mark();
        push(tuple);
        break;
      }
      case 0x85:    // TUPLE1
      case 0x86:    // TUPLE2
      case 0x87: {  // TUPLE3
        Value* tuple = make(Kind::tuple);
        tuple->items.resize(op_ - 0x84);
        for (auto it = tuple->items.rbegin(); it != tuple->items.rend(); ++it) *it = pop();
        push(tuple);
        break;
      }
      case 'X':     // BINUNICODE
      case 0x8c:    // SHORT_BINUNICODE
      case 0x8d: {  // BINUNICODE8
        const std::uint64_t n = read_le(op_ == 'X' ? 4 : op_ == 0x8c ? 1 : 8);
        Value* text = make(Kind::string);
        text->text = read_bytes(n);
        push(text);
        break;
      }
      case 'q':  // BINPUT
        memo_[read_le(1)] = top();
        break;
      case 'r':  // LONG_BINPUT
        memo_[read_le(4)] = top();
        break;
      case 0x94:  // MEMOIZE
        memo_[memo_.size()] = top();
        break;
      case 'h':    // BINGET
      case 'j': {  // LONG_BINGET
        const std::uint64_t key = read_le(op_ == 'h' ? 1 : 4);
        const auto it = memo_.find(key);
        if (it == memo_.end()) malformed(fmt::format("memo entry {} was never stored", key));
        push(it->second);
        break;
      }
      case 'c': {  // GLOBAL "module\nname\n"
        const std::string module = read_line();
        const std::string name = read_line();
        push(resolve_global(module, name));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        const std::string name = expect(pop(), Kind::string, "the global's name")->text;
        const std::string module = expect(pop(), Kind::string, "the global's module")->text;
        push(resolve_global(module, name));
        break;
      }
      case 'Q':  // BINPERSID
        push(persistent_load(pop()));
        break;
      case 'J':  // BININT: signed 32-bit
        push(make_int(static_cast<std::int32_t>(static_cast<std::uint32_t>(read_le(4)))));
        break;
      case 'K':  // BININT1
        push(make_int(static_cast<std::int64_t>(read_le(1))));
        break;
      case 'M':  // BININT2
        push(make_int(static_cast<std::int64_t>(read_le(2))));
        break;
      case 0x8a: {  // LONG1: n-byte two's complement, little endian
        const auto n = static_cast<std::size_t>(read_le(1));
        if (n > 8) malformed(fmt::format("a {}-byte integer does not fit in 64 bits", n));
        std::uint64_t v = read_le(n);
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) != 0) v |= ~std::uint64_t{0} << (8 * n);
        push(make_int(static_cast<std::int64_t>(v)));
        break;
      }
      case 'G':  // BINFLOAT: a big-endian double (a training checkpoint's epoch or lr); unused
        read_le(8);
        push(make(Kind::floating));
        break;
      case 0x88:    // NEWTRUE
      case 0x89: {  // NEWFALSE
        Value* flag = make(Kind::boolean);
        flag->integer = op_ == 0x88 ? 1 : 0;
        push(flag);
        break;
      }
      case 'N':  // NONE
        push(make(Kind::none));
        break;
      case 'R': {  // REDUCE
        Value* args = pop();
        Value* callable = pop();
        push(reduce(callable, args));
        break;
      }
      case 's': {  // SETITEM
        Value* value = pop();
        Value* key = pop();
        expect(top(), Kind::dict, "the target of SETITEM")->entries.emplace_back(key, value);
        break;
      }
      case 'u': {  // SETITEMS
        std::vector<Value*> items = pop_mark();
        if (items.size() % 2 != 0) malformed("SETITEMS with an odd number of items");
        Value* dict = expect(top(), Kind::dict, "the target of SETITEMS");
        for (std::size_t i = 0; i < items.size(); i += 2) {
          dict->entries.emplace_back(items[i], items[i + 1]);
        }
        break;
      }
      case 'a': {  // APPEND
        Value* value = pop();
        expect(top(), Kind::list, "the target of APPEND")->items.push_back(value);
        break;
      }
      case 'e': {  // APPENDS
        std::vector<Value*> items = pop_mark();
        Value* list = expect(top(), Kind::list, "the target of APPENDS");
        list->items.insert(list->items.end(), items.begin(), items.end());
        break;
      }
      case 'b': {  // BUILD: only the state of an OrderedDict (its _metadata attribute), dropped
        Value* state = pop();
        expect(top(), Kind::dict, "the target of BUILD");
        expect(state, Kind::dict, "the state of BUILD");
        break;
      }
      case '.': {  // STOP
        Value* result = pop();
        if (!stack_.empty() || !marks_.empty()) malformed("values left on the stack at STOP");
        expect(result, Kind::dict, "the pickled object");
        StateDictPickle out;
        out.storages = std::move(storages_);
        // {"state_dict": {...}, "epoch": ..., ...}: a training checkpoint (open_clip's, say)
        // wraps the weights; the other entries are dropped.
        for (const auto& [key, value] : result->entries) {
          if (key->kind == Kind::string && key->text == "state_dict" && value->kind == Kind::dict) {
            result = value;
            break;
          }
        }
        for (const auto& [key, value] : result->entries) {
          const std::string& name = expect(key, Kind::string, "a state dict key")->text;
          if (value->kind != Kind::tensor) {
            fail("{}: state dict entry '{}' is a {}, expected a tensor", file_, name,
                 kind_name(value->kind));
          }
          out.tensors.push_back(value->tensor);
          out.tensors.back().name = name;
        }
        return out;
      }
      default:
        fail(
            "{}: data.pkl byte {}: unsupported pickle opcode 0x{:02x}, which a tensor state "
            "dict never uses; refusing to load",
            file_, op_pos_, op_);
    }
  }
}

}  // namespace

StateDictPickle unpickle_state_dict(std::string_view pickle, const std::string& file) {
  return Unpickler(pickle, file).run();
}

}  // namespace vlbench
