#include "shim/run/container_slot.h"

#include <utility>

namespace podshim::shim {

ContainerSlots::ContainerSlots(const Pod& pod) {
  for (const auto* list : {&pod.spec.init_containers, &pod.spec.containers}) {
    for (const Container& c : *list) slots_[c.name].container = &c;
  }
}

ContainerSlot* ContainerSlots::Find(std::string_view name) {
  auto it = slots_.find(name);
  return it == slots_.end() ? nullptr : &it->second;
}

ContainerSlot* ContainerSlots::FindRunning(pid_t pid) {
  auto it = by_pid_.find(pid);
  return it == by_pid_.end() ? nullptr : it->second;
}

void ContainerSlots::SetRunning(ContainerSlot& slot, ContainerInstance instance) {
  if (slot.running) by_pid_.erase(slot.running->handle.pid());
  by_pid_[instance.handle.pid()] = &slot;
  slot.running = std::move(instance);
}

ContainerInstance ContainerSlots::TakeRunning(ContainerSlot& slot) {
  ContainerInstance inst = std::move(*slot.running);
  slot.running.reset();
  by_pid_.erase(inst.handle.pid());
  return inst;
}

std::map<std::string, cgroups::CgroupPath> ContainerSlots::Leaves() const {
  std::map<std::string, cgroups::CgroupPath> out;
  for (const auto& [name, slot] : slots_) {
    if (slot.leaf) out.emplace(name, *slot.leaf);
  }
  return out;
}

}  // namespace podshim::shim
