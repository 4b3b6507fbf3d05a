// `features`: what this runtime supports, as the runtime spec's features.md document.
#pragma once

#include <string>

namespace hull::container {

std::string FeaturesJson();

}  // namespace hull::container
