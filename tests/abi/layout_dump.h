// The layout of the plugin ABI as a table of text lines, one per struct, field, typedef and
// constant of ABI 1.0, computed by the compiler from one header variant each: the frozen 1.0
// copy (sdk/abi/v1.0/rkp.h), the current header, and mutants of the current header that the
// build derives to prove that the append check catches what it must.
//
// Line formats (types as the C++ ABI demangles them, so on x86-64 uint64_t reads "unsigned
// long"):
//   struct <name> size <bytes> align <bytes> members <count, an array counting as its extent>
//   field <struct>.<member> offset <bytes> size <bytes> type <type>
//   typedef <name> type <type>
//   function <name> type <type>
//   const <macro> <value>          (numbers in decimal, strings quoted)
#pragma once

#include <string>
#include <vector>

namespace rkabi {

using Layout = std::vector<std::string>;

// Each is generated from tests/abi/layout_unit.cc.in with one header variant.
Layout layoutOfFrozenV1_0();        // sdk/abi/v1.0/rkp.h
Layout layoutOfCurrent();           // sdk/include/rootlesskit/rkp.h
Layout layoutOfMutantInserted();    // a function inserted before rkp_net_ops.teardown
Layout layoutOfMutantRetyped();     // rkp_port_spec.parent_port widened to uint32_t
Layout layoutOfMutantRenumbered();  // RKP_SUP_UDP given another bit
Layout layoutOfMutantFilledHole();  // a member put into rkp_net_ops' padding: offsets unchanged
Layout layoutOfMutantAppended();    // a field appended to rkp_port_spec, and listed: legal

// Every way current breaks the append-only rule against frozen, one line each, empty when
// current only appends: a 1.0 struct, field, typedef, function or constant that is missing or
// different, a struct that shrank or changed its alignment, a listed field that is not in
// frozen but lies inside the 1.0 size of its struct, or RKP_ABI_MINOR going backwards. A
// struct may grow, and current may have lines frozen has not.
std::vector<std::string> appendViolations(const Layout &frozen, const Layout &current);

// Structs of layout with members its field lines do not name (one line each), which
// appendViolations() cannot see: for instance a member put into the padding after a 1.0 field.
std::vector<std::string> unlistedMembers(const Layout &layout);

}  // namespace rkabi
