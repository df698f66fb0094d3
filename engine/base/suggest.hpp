// "Did you mean" suggestions for unknown keys, ops and node names.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace keel {

// Edit distance (insert, delete, substitute, swap two neighbours), case-sensitive.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidates closest to `word`, best first, within a distance that
// grows with the word's length (so "lienar" finds "linear" but "x" finds
// nothing); at most `limit` of them.
std::vector<std::string> near_names(std::string_view word, const std::vector<std::string>& candidates,
                                    std::size_t limit = 3);

// " (did you mean 'a' or 'b'?)" or "" when there is nothing close.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace keel
