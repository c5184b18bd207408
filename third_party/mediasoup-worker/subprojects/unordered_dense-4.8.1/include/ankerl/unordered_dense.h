// Stand-in for ankerl::unordered_dense (https://github.com/martinus/unordered_dense),
// which mediasoup's worker uses but which no package registry reachable here ships.
//
// Why this is enough: the worker only names `map`, `set` and `hash` from this
// library and uses them through the std::unordered_map/set interface (find,
// emplace, erase, iteration, operator[], size). Mapping them onto the standard
// containers keeps the semantics; what changes is iteration order and speed,
// neither of which the worker's logic depends on (mediasoup's own test suite
// passes against the result). Revisit on every mediasoup upgrade.
#ifndef VASMS_ANKERL_UNORDERED_DENSE_SHIM_H
#define VASMS_ANKERL_UNORDERED_DENSE_SHIM_H

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace ankerl
{
	namespace unordered_dense
	{
		// The original hash is a wyhash variant with an `is_avalanching` marker;
		// std::hash is a correct (if weaker) replacement for every key type the
		// worker uses (integers, enums, strings, pointers).
		template<typename T, typename Enable = void>
		struct hash : std::hash<T>
		{
		};

		template<
		  class Key,
		  class T,
		  class Hash      = hash<Key>,
		  class KeyEqual  = std::equal_to<Key>,
		  class Allocator = std::allocator<std::pair<const Key, T>>>
		using map = std::unordered_map<Key, T, Hash, KeyEqual, Allocator>;

		template<
		  class Key,
		  class Hash      = hash<Key>,
		  class KeyEqual  = std::equal_to<Key>,
		  class Allocator = std::allocator<Key>>
		using set = std::unordered_set<Key, Hash, KeyEqual, Allocator>;
	} // namespace unordered_dense
} // namespace ankerl

#endif
